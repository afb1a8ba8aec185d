"""Exercise checkers, one module per chapter (``exercises/<topic>.py``).

Each checker takes a student's answer (a number, a matrix or a function) and returns a
:class:`~mgie_lessons.exercises.feedback.Feedback`: right or not, and a hint about the likely
mistake. Expected answers are computed by the package, never typed in.
"""

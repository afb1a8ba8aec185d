"""Tools for teachers, not imported by the book's chapters.

* :mod:`~mgie_lessons.teaching.student_edition`: ``make student``, the book without solutions
  (built by jupyter-book with sphinx-exercise's ``hide_solutions``) and a leak check over every
  file it writes;
* :mod:`~mgie_lessons.teaching.grading`: ``make grade``, runs a folder of submitted notebooks
  and grades every checker call.

Both read the exercises through :mod:`mgie_lessons.exercises.registry`.
"""

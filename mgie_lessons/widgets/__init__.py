"""ipywidgets panels, one module per chapter (``widgets/<topic>.py``), built on
:class:`mgie_lessons.widgets.panel.Panel`. They only call the math and plotting modules."""

"""Report generators: the markdown of docs/RESULTS_AND_LIMITATIONS.md and its conscience section.

They sit above the studies (:mod:`scalarscope.sweeps`), which they run or read; nothing in the
library imports them. ``make results`` drives them through the scripts in ``examples/``.
"""

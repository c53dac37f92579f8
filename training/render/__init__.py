"""Reports from stored data: figures (``figures``), the one table writer and number formatter
(``tables``), the study's Markdown (``study_text``) and the benchmark's files (``benchmark``)."""

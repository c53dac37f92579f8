"""Every stored file: written atomically and read back through ``store``; the run folder's
layout, manifest and checkpoints in ``run_folder``; one writer per study or run folder in ``lock``."""

"""Sources, curriculum specs, held-out splits, prompt templates and export."""

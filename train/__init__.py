"""The MindFormers hand-off: presets, LoRA counts, yaml and launch scripts, logs, CPU smoke runs."""

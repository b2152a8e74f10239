"""Data, not code: model presets, MindFormers yaml templates, curriculum specs."""

"""Prediction loading, answer extraction, exact judging, accuracy tables and reports."""

"""Scoring a checkpoint: metrics, the evaluation report, the model card, the reliability report."""

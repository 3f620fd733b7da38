"""Attacks and their promised outcomes, one module per class of attack."""

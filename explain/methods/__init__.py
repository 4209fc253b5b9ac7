"""What Glimpse computes from a model and an input: attention, attributions, predictions."""

"""Task heads: what a model of each task predicts, and which logit an attribution explains."""

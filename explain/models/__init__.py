"""Where models come from and how they are held: sources, loading, the hooked twin and its gate, the adapter."""

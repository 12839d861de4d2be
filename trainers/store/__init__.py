"""The run store: the one contract between whatever writes runs and whatever reads them. No TensorFlow."""

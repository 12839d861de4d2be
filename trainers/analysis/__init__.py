"""Numbers from stored predictions: metrics, calibration, label issues, seed groups, ensembles, pairs of runs.

Reads runs through `trainers.store`; loads no model and imports no TensorFlow.
"""

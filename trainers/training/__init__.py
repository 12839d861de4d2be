"""TensorFlow training: data sets, model builders, optimisation, distribution, speed trials, fitting, and the
record a fitted model leaves in its run folder (also for an imported model)."""

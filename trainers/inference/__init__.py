"""A shipped model on raw pixels: loading and predicting, pixels from any image, where a model looked, the test-set
map, an ensemble's model, and what a model is made of. TensorFlow is imported only when a model is used."""

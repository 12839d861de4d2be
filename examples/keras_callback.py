"""Your own Keras training, recorded for the dashboard by one callback.

    python examples/keras_callback.py path/to/images --epochs 10

The folder holds train/ and test/, one subfolder of images per class (the layout `trainers.train` reads).
The run appears on the dashboard's Home as "in progress" while it trains, then on every page.
"""

import argparse
from pathlib import Path

import keras

from trainers.record import RecordRun

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("data", help="a folder with train/ and test/, one subfolder per class")
parser.add_argument("--name", default="my-keras-cnn", help="the run's name in the store")
parser.add_argument("--store", default="artifacts", help="the run store the dashboard reads")
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--size", type=int, default=32, help="the side the images are resized to")
parser.add_argument("--overwrite", action="store_true", help="start a run of that name over")
args = parser.parse_args()

size = (args.size, args.size)
train, validation = keras.utils.image_dataset_from_directory(
    f"{args.data}/train", image_size=size, validation_split=0.2, subset="both", seed=0)
test = keras.utils.image_dataset_from_directory(f"{args.data}/test", image_size=size, shuffle=False)

model = keras.Sequential([
    keras.Input((*size, 3)),
    keras.layers.Rescaling(1 / 255),
    keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
    keras.layers.MaxPooling2D(),
    keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
    keras.layers.GlobalAveragePooling2D(),
    keras.layers.Dense(len(train.class_names), activation="softmax"),
])
model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(train, validation_data=validation, epochs=args.epochs, callbacks=[
    # Ids and data set named as `trainers.train` names them: the run is compared with the presets' on this folder.
    RecordRun(args.name, test_data=test, ids=[str(Path(file).relative_to(args.data)) for file in test.file_paths],
              dataset=Path(args.data).resolve().name, store=args.store, overwrite=args.overwrite,
              config={"recipe": "two convolutions, global pooling"}, comment="examples/keras_callback.py"),
])
print(f"Recorded '{args.name}' in {args.store}: streamlit run dashboard/Home.py")

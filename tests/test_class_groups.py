"""Class groups (superclasses): read from a user's CSV or JSON file, stored once per test set, and counted by on
the Confusion matrices page and Home, against counts worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app_pages import figures, widget
from fake_runs import write_fake_run
from trainers import evaluate
from trainers.analysis.class_groups import group_accuracy, grouped_matrix, read_class_groups
from trainers.store import run_store

REPO_ROOT = Path(__file__).resolve().parent.parent
NAMES = ["cat", "dog", "owl", "emu"]
GROUPS = {"cat": "mammal", "dog": "mammal", "owl": "bird", "emu": "bird"}


@pytest.mark.parametrize("file_name, text", [
    ("groups.csv", "class,group\ncat,mammal\ndog,mammal\nowl,bird\nemu,bird\n"),
    ("groups.csv", "emu, bird\nowl,bird\n\ndog,mammal\ncat,mammal\n"),  # no header, any order, a blank line
    ("groups.json", json.dumps(GROUPS)),
    ("groups.json", json.dumps({"mammal": ["cat", "dog"], "bird": ["owl", "emu"]})),
])
def test_groups_are_read_from_csv_or_json_in_class_order(tmp_path, file_name, text):
    (tmp_path / file_name).write_text(text)
    groups = read_class_groups(tmp_path / file_name, NAMES)
    assert groups == GROUPS and list(groups) == NAMES


@pytest.mark.parametrize("text, message", [
    ("cat,mammal\ndog,mammal\nowl,bird\n", "1 classes have no group: emu"),
    ("cat,mammal\ndog,mammal\nowl,bird\nemu,bird\nyak,mammal\n", "the class 'yak' is not one of the test set's 4"),
    ("cat,mammal\ncat,bird\n", "the class 'cat' is in two groups, 'mammal' and 'bird'"),
    ("cat,mammal,extra\n", "row 1 is not class,group: 'cat,mammal,extra'"),
    ("cat,\n", "the class 'cat' has an empty group name"),
])
def test_a_file_that_does_not_fit_the_classes_is_refused_in_one_line(tmp_path, text, message):
    (tmp_path / "groups.csv").write_text(text)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        read_class_groups(tmp_path / "groups.csv", NAMES)


def test_the_shipped_cifar_100_superclasses_group_its_100_classes_in_20_groups_of_5():
    path = REPO_ROOT / "examples" / "cifar100_superclasses.csv"
    names = [line.split(",")[0] for line in path.read_text().splitlines()[1:]]
    groups = read_class_groups(path, names)
    assert len(groups) == 100 and sorted(list(groups.values()).count(g) for g in set(groups.values())) == [5] * 20
    assert groups["maple_tree"] == "trees" and groups["aquarium_fish"] == "fish"


# Rows true, columns predicted: cat 3 right, 1 as dog (same group), 1 as owl; dog 2 right; owl 1 right, 2 as emu
# (same group), 1 as cat; emu 2 right. By group: mammals 6 as mammals and 1 as a bird, birds 1 and 5.
MATRIX = np.array([[3, 1, 1, 0], [0, 2, 0, 0], [1, 0, 1, 2], [0, 0, 0, 2]])


def test_a_matrix_counted_by_group_and_its_accuracy_by_hand():
    assert grouped_matrix(MATRIX, NAMES, GROUPS).tolist() == [[6, 1], [1, 5]]
    assert group_accuracy(MATRIX, NAMES, GROUPS) == pytest.approx(11 / 13)


def known_run(store: Path):
    labels, predicted = [], []
    for true, row in enumerate(MATRIX):
        for guess, count in enumerate(row):
            labels += [true] * count
            predicted += [guess] * count
    return write_fake_run(store, "known", labels=labels, probabilities=np.eye(4)[predicted], class_names=NAMES,
                          metrics={"confusion_matrix": MATRIX.tolist()})


def test_the_command_line_stores_the_groups_for_the_test_set(tmp_path, capsys):
    run = known_run(tmp_path)
    (tmp_path / "groups.csv").write_text("cat,mammal\ndog,mammal\nowl,bird\nemu,bird\n")
    assert evaluate.main([str(run.path), "--class-groups", str(tmp_path / "groups.csv")]) == 0
    assert "4 classes in 2 groups, for every run of its test set" in capsys.readouterr().out
    assert run_store.load_class_groups(tmp_path, run.test_key) == GROUPS
    (tmp_path / "bad.csv").write_text("cat,mammal\n")
    assert evaluate.main([str(run.path), "--class-groups", str(tmp_path / "bad.csv")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {run.path}: 3 classes have no group: dog, owl, emu"
    assert run_store.load_class_groups(tmp_path, run.test_key) == GROUPS  # the stored groups are kept


def test_the_confusion_page_and_home_count_by_group(open_app, tmp_path):
    run = known_run(tmp_path)
    run_store.save_class_groups(tmp_path, run.test_key, GROUPS)
    home = open_app(tmp_path)
    assert home.dataframe[0].value.set_index("run").loc["known", "class group accuracy"] == pytest.approx(11 / 13)

    app = open_app(tmp_path, "views/confusion_matrices.py")
    assert figures(app)[0].data[0].z.tolist() == MATRIX.tolist()
    widget(app.radio, "Count by").set_value(True).run()
    heatmap = figures(app)[0].data[0]
    assert list(heatmap.x) == ["mammal", "bird"] and heatmap.z.tolist() == [[6, 1], [1, 5]]
    assert app.dataframe[0].value.to_dict("list") == {"group": ["mammal", "bird"], "classes": [2, 2],
                                                      "images": [7, 6], "recall": pytest.approx([6 / 7, 5 / 6])}
    # One image each way: the larger share of its true group (1 of 6 birds, 1 of 7 mammals) first.
    assert app.dataframe[1].value[["true", "predicted", "count"]].values.tolist() == [["bird", "mammal", 1],
                                                                                      ["mammal", "bird", 1]]
    widget(app.toggle, "Normalise rows (share of each true class)").set_value(True).run()
    assert np.asarray(figures(app)[0].data[0].z) == pytest.approx(np.array([[6 / 7, 1 / 7], [1 / 6, 5 / 6]]))


def test_groups_of_other_classes_are_named_not_used(open_app, tmp_path):
    run = known_run(tmp_path)
    run_store.save_class_groups(tmp_path, run.test_key, {"cat": "mammal", "yak": "mammal"})
    app = open_app(tmp_path, "views/confusion_matrices.py")
    assert "are of other classes than known's" in app.warning[0].value
    assert not [radio for radio in app.radio if radio.label == "Count by"]

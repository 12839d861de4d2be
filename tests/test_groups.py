"""Seed groups and configuration differences: statistics worked out by hand, and the Home page that shows them."""

from __future__ import annotations

import pytest

from app_pages import figures, widget
from dashboard.lib import groups as group_views
from fake_runs import write_fake_run
from trainers.analysis import groups, uncertainty
from trainers.presets import get_preset

# Three seeds of one recipe, with their test accuracy, macro F1 and log loss.
SEEDS = {1: (0.80, 0.70, 0.5), 2: (0.82, 0.74, 0.6), 3: (0.84, 0.72, 0.7)}


def cnn_v3_config(**changes) -> dict:
    return {**get_preset("cnn_v3").to_dict(), "image_size": 8, **changes}


def write_configured_run(store, run_id, scores=(0.9, 0.9, 0.3), *, test_key="pets-8px-0000", **changes):
    """A hand-made run of the cnn_v3 preset's whole configuration with `changes`, scoring `scores`."""
    accuracy, macro_f1, log_loss = scores
    return write_fake_run(store, run_id, info={"config": cnn_v3_config(**changes)}, test_key=test_key,
                          metrics={"accuracy": accuracy, "macro_f1": macro_f1, "log_loss": log_loss})


@pytest.fixture
def seed_store(tmp_path):
    """Three runs that differ only in seed, and one at another learning rate."""
    for seed, scores in SEEDS.items():
        write_configured_run(tmp_path, f"cnn_v3-s{seed}", scores, seed=seed)
    write_configured_run(tmp_path, "cnn_v3-lr", (0.78, 0.77, 0.9), seed=1, learning_rate=3e-4)
    return tmp_path


def runs_of(store, *run_ids):
    from trainers.store import run_store

    runs = {run.run_id: run for run in run_store.list_runs(store)[0]}
    return [runs[run_id] for run_id in run_ids]


def test_a_seed_groups_mean_and_sample_standard_deviation_worked_out_by_hand(seed_store):
    summary = groups.group_summary(runs_of(seed_store, "cnn_v3-s1", "cnn_v3-s2", "cnn_v3-s3"))
    # Accuracy 0.80, 0.82, 0.84: mean 0.82; deviations -0.02, 0, 0.02 -> (0.0004 + 0.0004) / (3 - 1) = 0.0004.
    assert summary.loc["accuracy", "mean"] == pytest.approx(0.82)
    assert summary.loc["accuracy", "std"] == pytest.approx(0.02)
    # Macro F1 0.70, 0.74, 0.72 likewise: mean 0.72, standard deviation 0.02.
    assert summary.loc["macro_f1"].tolist() == pytest.approx([0.72, 0.02, 3])
    # Log loss 0.5, 0.6, 0.7: mean 0.6; (0.01 + 0.01) / 2 = 0.01 -> 0.1.
    assert summary.loc["log_loss"].tolist() == pytest.approx([0.6, 0.1, 3])
    assert summary["n"].tolist() == [3, 3, 3]


def test_runs_that_differ_only_in_seed_form_one_group(seed_store):
    runs = runs_of(seed_store, "cnn_v3-lr", "cnn_v3-s1", "cnn_v3-s2", "cnn_v3-s3")
    other_test_set = write_configured_run(seed_store, "cnn_v3-elsewhere", seed=9, test_key="pets-8px-9999")
    unconfigured = write_fake_run(seed_store, "cnn_v3-bare")  # a config of three fields: no TrainConfig

    (group,) = groups.seed_groups([*runs, other_test_set, unconfigured])

    assert [run.run_id for run in group.runs] == ["cnn_v3-s1", "cnn_v3-s2", "cnn_v3-s3"]
    assert group.label == "cnn_v3 × 3: cnn_v3-s1, cnn_v3-s2, cnn_v3-s3"


def test_fields_marked_as_noise_join_runs_into_a_group(seed_store):
    runs = runs_of(seed_store, "cnn_v3-lr", "cnn_v3-s1", "cnn_v3-s2", "cnn_v3-s3")
    (group,) = groups.seed_groups(runs, noise_fields=("seed", "learning_rate"))
    assert len(group.runs) == 4
    assert groups.seed_groups(runs, noise_fields=()) == []  # every run differs from the others in its seed
    with pytest.raises(ValueError, match="Unknown config field.*colour"):
        groups.seed_groups(runs, noise_fields=("seed", "colour"))


def test_config_differences_shows_only_the_fields_that_differ(seed_store):
    runs = runs_of(seed_store, "cnn_v3-s1", "cnn_v3-s2", "cnn_v3-lr")
    differences = groups.config_differences([*runs, write_fake_run(seed_store, "cnn_v3-bare")])
    assert list(differences.columns) == ["learning_rate", "seed"]
    assert differences.to_dict("index") == {
        "cnn_v3 / cnn_v3-s1": {"learning_rate": 1e-3, "seed": 1},
        "cnn_v3 / cnn_v3-s2": {"learning_rate": 1e-3, "seed": 2},
        "cnn_v3 / cnn_v3-lr": {"learning_rate": 3e-4, "seed": 1},
    }


def test_a_field_a_run_predates_counts_at_its_default(tmp_path):
    config = cnn_v3_config()
    older = {name: value for name, value in config.items() if name != "cutout"}  # written before cutout existed
    write_fake_run(tmp_path, "cnn_v3-old", info={"config": older})
    write_fake_run(tmp_path, "cnn_v3-new", info={"config": {**config, "seed": 7}})
    runs = runs_of(tmp_path, "cnn_v3-old", "cnn_v3-new")
    assert list(groups.config_differences(runs).columns) == ["seed"]
    assert len(groups.seed_groups(runs)) == 1


def test_group_rows_read_mean_plus_minus_std_and_the_chart_draws_the_spread(seed_store):
    import plotly.graph_objects as go

    found = groups.seed_groups(runs_of(seed_store, "cnn_v3-s1", "cnn_v3-s2", "cnn_v3-s3"))
    (row,) = group_views.groups_table(found).to_dict("records")
    # A resample of three runs is all 0.80 (or all 0.84) with probability 1/27 = 3.7% > 2.5%: the percentile
    # interval of the mean runs from the lowest run to the highest.
    assert row == {"group": found[0].label, "model": "cnn_v3", "n": 3, "test accuracy": "0.8200 ± 0.0200",
                   "macro F1": "0.7200 ± 0.0200", "test log loss": "0.6000 ± 0.1000",
                   group_views.MEAN_INTERVAL: "0.8000 – 0.8400"}
    figure = group_views.with_group_spread(go.Figure(), found)
    (trace,) = figure.data
    assert (trace.x[0], trace.y[0], trace.error_y.array[0]) == pytest.approx((579, 0.82, 0.02))


def test_one_recipe_beats_another_across_seeds_with_the_probability_worked_out_by_hand(seed_store):
    # A second recipe (another learning rate), two seeds at 0.81 and 0.79.
    for seed, accuracy in ((1, 0.81), (2, 0.79)):
        write_configured_run(seed_store, f"cnn_v3-slow{seed}", (accuracy, 0.7, 0.5), seed=seed, learning_rate=3e-4)
    found = groups.seed_groups(runs_of(seed_store, "cnn_v3-s1", "cnn_v3-s2", "cnn_v3-s3", "cnn_v3-lr",
                                       "cnn_v3-slow1", "cnn_v3-slow2"))
    assert [len(group.runs) for group in found] == [3, 3]  # cnn_v3-lr joins the slow recipe
    (row,) = group_views.improvement_table(found).to_dict("records")
    # 0.80, 0.82, 0.84 against 0.78, 0.81, 0.79: 0.80 beats 0.78 and 0.79; 0.82 and 0.84 beat all three: 8 of 9.
    assert (row["recipe"], row["against"]) == (found[0].label, found[1].label)
    assert row["probability it is better"] == pytest.approx(8 / 9)
    low, high = uncertainty.improvement_interval([0.80, 0.82, 0.84], [0.78, 0.81, 0.79])
    assert row["95% interval"] == f"{low:.0%} – {high:.0%}" and high == 1.0


def test_parallel_coordinates_put_text_fields_on_tick_labels_and_end_at_accuracy(seed_store):
    write_configured_run(seed_store, "cnn_v3-sgd", (0.78, 0.77, 0.9), seed=1, learning_rate=3e-4, optimizer="sgd")
    runs = runs_of(seed_store, "cnn_v3-s1", "cnn_v3-sgd")
    differences = groups.config_differences(runs)
    figure = group_views.parallel_coordinates_figure(differences, runs, ["optimizer", "learning_rate"])
    optimizer, learning_rate, accuracy = figure.data[0].dimensions
    assert list(optimizer.ticktext) == ["adamw", "sgd"] and list(optimizer.values) == [0, 1]
    assert list(learning_rate.values) == pytest.approx([1e-3, 3e-4])
    assert accuracy.label == "test accuracy" and list(accuracy.values) == pytest.approx([0.80, 0.78])


def test_home_shows_the_seed_group_and_the_configurations_that_differ(open_app, seed_store):
    app = open_app(seed_store)
    groups_table = app.dataframe[1].value
    assert groups_table.to_dict("records") == [{
        "group": "cnn_v3 × 3: cnn_v3-s1, cnn_v3-s2, cnn_v3-s3", "model": "cnn_v3", "n": 3,
        "test accuracy": "0.8200 ± 0.0200", "macro F1": "0.7200 ± 0.0200", "test log loss": "0.6000 ± 0.1000",
        group_views.MEAN_INTERVAL: "0.8000 – 0.8400"}]
    assert [expander.label for expander in app.expander] == [groups_table["group"][0]]
    assert app.dataframe[2].value["run"].tolist() == ["cnn_v3-s1", "cnn_v3-s2", "cnn_v3-s3"]

    chart, parallel = figures(app)
    spread = next(trace for trace in chart.data if trace.error_y.array is not None)
    assert (spread.y[0], spread.error_y.array[0]) == pytest.approx((0.82, 0.02))
    differences = app.dataframe[3].value.set_index("run")
    assert list(differences.columns) == ["learning_rate", "seed"]
    assert differences.loc["cnn_v3 / cnn_v3-lr"].tolist() == [3e-4, 1]
    assert [dimension.label for dimension in parallel.data[0].dimensions] == ["learning_rate", "seed", "test accuracy"]

    widget(app.multiselect, "Fields that may differ within a group (noise)").set_value(["seed", "learning_rate"]).run()
    assert app.dataframe[1].value["n"].tolist() == [4]

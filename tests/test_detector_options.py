"""A detector owns what is its own (issue 20): its options (a dataclass it declares and checks),
its label, whether it joins the comparison and its profiles; the config holds the options in one
field, ``--set`` types them from the detector, and configs, checkpoints and result files of the
older flat layout (``variant``, ``lae_*``, ``exposing_*``) still load."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import pytest
import torch
from torch import nn

from jdfd_lib import cli
from jdfd_lib.core.config import PROFILES, TrainConfig, config_from_overrides
from jdfd_lib.detectors.base import Batch, Detector
from jdfd_lib.detectors.losses import masked_cross_entropy
from jdfd_lib.detectors.registry import (
    compared_detectors,
    create_detector,
    detector_class,
    detector_config,
    detector_label,
    list_detectors,
    parse_setting,
    register_detector,
    unregister_detector,
)
from jdfd_lib.evaluation import results as res
from jdfd_lib.reporting import readme
from jdfd_lib.training import train_cli as train_mod
from jdfd_lib.training.checkpoint import config_differences, load_checkpoint

SIZE = 32


# ----------------------------------------------------------------- every registered detector
@pytest.mark.parametrize("name", list_detectors())
def test_each_detector_declares_label_options_and_profiles(name: str) -> None:
    cls = detector_class(name)
    assert cls.name == name and isinstance(cls.display_label(), str) and cls.display_label()
    assert isinstance(cls.compared, bool) and isinstance(cls.order, int)
    assert dataclasses.is_dataclass(cls.options)
    assert cls.options.__dataclass_params__.frozen, "options are read, never changed"
    defaults = cls.options()  # every option has a documented default
    assert set(cls.profiles) <= set(PROFILES), f"{name}: profiles of no known profile"
    for profile in PROFILES:
        cfg = detector_config(profile, detector=name)
        assert cfg.detector == name
        # the options are complete and plain JSON, and read back as the dataclass
        assert set(cfg.detector_options) == {f.name for f in dataclasses.fields(defaults)}
        assert json.loads(json.dumps(cfg.to_dict())) == cfg.to_dict()
        back = TrainConfig.from_dict(json.loads(cfg.to_json()))
        assert back == cfg and not config_differences(back, cfg)
        assert cls.options_of(back) == cls.options_of(cfg)
        for key in cls.profiles.get(profile, {}):  # a profile names fields or own options
            assert key in TrainConfig.__dataclass_fields__ or key.startswith(f"{name}_"), key


def test_the_comparison_and_its_labels_come_from_the_registry() -> None:
    assert compared_detectors() == ["jdfd", "baseline", "lae", "exposing"]
    assert [detector_label(d) for d in compared_detectors()] == [
        "JDFD", "Baseline", "LAE", "Exposing the Deception"]
    assert detector_label("since-removed") == "since-removed"  # old results keep a name
    parser = argparse.ArgumentParser()
    train_mod.add_arguments(parser)
    detector = next(a for a in parser._actions if "--detector" in a.option_strings)
    assert list(detector.choices) == list_detectors()


def test_the_committed_detector_table_is_the_registrys(tmp_path: Path) -> None:
    """The README (or a docs/ page) shows the table of registered detectors between markers,
    written from the registry (after registering one: ``report --readme README.md``)."""
    root = Path(__file__).resolve().parents[1]
    pages = [p for p in [root / "README.md", *sorted(root.glob("docs/**/*.md"))]
             if readme.DETECTORS_BEGIN in p.read_text()]
    assert pages, "no page holds the detector table's markers"
    for page in pages:
        assert readme.detector_table() in page.read_text(), f"{page.name}: table is stale"
    page = tmp_path / "README.md"
    page.write_text(f"a\n{readme.DETECTORS_BEGIN}\nold\n{readme.DETECTORS_END}\nb\n")
    assert readme.sync_detector_table(page) and not readme.sync_detector_table(page)
    assert page.read_text().startswith("a\n") and "| `lae` | LAE | row 3 |" in page.read_text()


# ----------------------------------------------------------------- --set and its errors
def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    train_mod.add_arguments(parser)
    return parser.parse_args(["--profile", "demo", *argv])


def test_set_types_a_detector_option_from_the_detectors_dataclass() -> None:
    assert parse_setting("lae_depth=3", "lae") == ("lae_depth", 3)
    assert parse_setting("lae_skip_connections=false", "lae") == ("lae_skip_connections", False)
    assert parse_setting("lae_vgg_weights=none", "lae") == ("lae_vgg_weights", None)
    assert parse_setting("exposing_dropout=0.25", "exposing") == ("exposing_dropout", 0.25)
    cfg = train_mod.config_from_args(_args("--detector", "lae", "--set", "lae_depth=3",
                                           "--set", "epochs=2"))
    assert cfg.detector_options["depth"] == 3 and cfg.epochs == 2
    assert cfg.detector_options["base_channels"] == 16  # the demo profile's, kept
    # the old flag is a hidden alias, and --set may choose the detector too
    assert train_mod.config_from_args(_args("--variant", "lae")).detector == "lae"
    assert train_mod.config_from_args(_args("--set", "detector=lae",
                                            "--set", "lae_depth=2")).detector_options["depth"] == 2
    help_text = argparse.ArgumentParser()
    train_mod.add_arguments(help_text)
    assert "--variant" not in help_text.format_help() and "--detector" in help_text.format_help()
    with pytest.raises(ValueError, match=r"lae_depth=x.*type <class 'int'>"):
        parse_setting("lae_depth=x", "lae")


@pytest.mark.parametrize("argv, expected", [
    (["--detector", "lae", "--set", "lae_dpth=3"],
     "'lae_dpth' is neither a TrainConfig field nor an option of detector 'lae' (its options: "
     "lae_base_channels, lae_depth,"),
    (["--set", "lae_depth=3"], "lae_depth is an option of detector 'lae', not of 'jdfd' "
                               "(choose it with --detector lae)"),
    (["--detector", "lae", "--set", "lae_mask_budget=2"], "lae_mask_budget must be in [0, 1]"),
])
def test_an_unknown_or_misplaced_option_is_one_line(argv, expected, capsys) -> None:
    assert cli.main(["train", "--profile", "demo", *argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("jdfd train: error: ") and expected in err
    assert err.count("\n") == 1, err


def test_overrides_of_another_detector_are_left_to_it() -> None:
    """One overrides dict serves a grid of several detectors (notebook 08's OVERRIDES)."""
    jdfd = detector_config("demo", detector="jdfd", lae_depth=3, epochs=1)
    lae = detector_config("demo", detector="lae", lae_depth=3, epochs=1)
    assert jdfd.detector_options == {} and lae.detector_options["depth"] == 3
    with pytest.raises(ValueError, match="detector 'lae' has no option 'dpth'"):
        detector_config("demo", detector="lae", lae_dpth=3)


# ----------------------------------------------------------------- the older layout
def _old_lae_config() -> dict:
    """A config.json as written before issue 20: ``variant``, every detector's flat options."""
    new = detector_config("demo", detector="lae", image_size=SIZE).to_dict()
    old = {k: v for k, v in new.items() if k not in ("detector", "detector_options")}
    old["variant"] = "lae"
    old.update({f"lae_{k}": v for k, v in new["detector_options"].items()})
    old.update({"exposing_num_blocks": 4, "exposing_backbone": "resnet34.tv_in1k",
                "exposing_dropout": 0.5, "exposing_temperature": 1.5})
    return old


def test_an_old_flat_config_loads() -> None:
    old = _old_lae_config()
    cfg = TrainConfig.from_dict(old)
    assert cfg.detector == "lae" and cfg.detector_options["base_channels"] == 16
    assert "num_blocks" not in cfg.detector_options  # Exposing's fields were ignored by LAE
    assert not config_differences(cfg, detector_config("demo", detector="lae", image_size=SIZE))
    jdfd = TrainConfig.from_dict({**old, "variant": "jdfd"})  # every flat option dropped
    assert jdfd.detector == "jdfd" and jdfd.detector_options == {}
    with pytest.raises(ValueError, match="detector given twice"):
        TrainConfig.from_dict({**old, "detector": "jdfd"})
    # the old spelling of overrides, as old notebooks and scripts write them
    legacy = config_from_overrides("demo", variant="lae", lae_depth=3)
    assert legacy.detector == "lae" and legacy.detector_options == {"depth": 3}


def test_an_old_checkpoint_loads_without_running_code(tmp_path: Path) -> None:
    cfg = detector_config("demo", detector="lae", image_size=SIZE)
    model = create_detector(cfg)
    torch.save({"model": model.state_dict(), "config": _old_lae_config(), "epoch": 1},
               tmp_path / "best.pt")
    loaded, saved, _ = load_checkpoint(tmp_path / "best.pt", expected=cfg)  # weights_only
    assert saved.detector == "lae" and saved.detector_options == cfg.detector_options
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(),
                                                  model.state_dict().values(), strict=True))


def test_an_old_result_file_reads_with_todays_names(tmp_path: Path) -> None:
    record = {"run_name": "demo-lae-ffpp-u00-s0", "test_dataset": "ffpp", "split": "test",
              "profile": "demo", "variant": "lae", "train_dataset": "ffpp",
              "unlabeled_ratio": 0.0, "seed": 0, "metrics": {"frame_auc": 0.9},
              "checkpoint": {"path": "runs/demo-lae-ffpp-u00-s0/best.pt"}}
    (tmp_path / "demo-lae-ffpp-u00-s0__ffpp.json").write_text(json.dumps(record))
    table = res.load_results(tmp_path)
    assert table.loc[0, "detector"] == "lae" and "variant" not in table.columns
    assert res.current_names(record)["detector"] == "lae"


# ----------------------------------------------------------------- a new detector, one file
@dataclasses.dataclass(frozen=True)
class ToyOptions:
    """The toy's one option."""

    width: int = 4  # channels of its one convolution

    def __post_init__(self) -> None:
        if self.width < 1:
            raise ValueError(f"toy_width must be >= 1, got {self.width}")


@pytest.fixture
def toy():
    """A detector registered here and nowhere else: one conv, one option, its own label."""

    @register_detector("toy")
    class Toy(Detector):
        label = "Toy detector"
        options = ToyOptions
        profiles = {"demo": {"toy_width": 3}}

        def __init__(self, width: int, image_size: int):
            super().__init__()
            self.net = nn.Sequential(nn.Conv2d(3, width, 3, 2, 1), nn.ReLU(),
                                     nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 2))
            self.pretrained_cfg = {"mean": (0.5,) * 3, "std": (0.5,) * 3,
                                   "input_size": (3, image_size, image_size)}

        @classmethod
        def from_config(cls, cfg: TrainConfig) -> Toy:
            return cls(cls.options_of(cfg).width, cfg.image_size)

        def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
            return {"logits": self.net(x)}

        def loss(self, out, batch: Batch, cfg: TrainConfig) -> dict[str, torch.Tensor]:
            return {"total": masked_cross_entropy(out["logits"], batch.labels, batch.labelled)}

        def param_groups(self, cfg: TrainConfig) -> list[dict]:
            return [{"name": "all", "params": list(self.parameters()), "lr": cfg.lr_classifier}]

    try:
        yield Toy
    finally:
        unregister_detector("toy")


def test_a_toy_detector_trains_through_the_grid_and_joins_the_comparison(
        toy, synthetic_faces, tmp_path: Path) -> None:
    from jdfd_lib.experiments import grid

    assert parse_setting("toy_width=5", "toy") == ("toy_width", 5)
    assert "| `toy` | Toy detector | row 5 | `width` | demo |" in readme.detector_table()
    assert detector_config("demo", detector="toy").detector_options == {"width": 3}
    with pytest.raises(ValueError, match="toy_width must be >= 1"):
        detector_config("demo", detector="toy", toy_width=0)
    synthetic_faces(tmp_path / "faces" / "ffpp", "ffpp", seed=0)
    paths = grid.Paths(faces=tmp_path / "faces", runs=tmp_path / "runs",
                       results=tmp_path / "results")
    tiny = dict(image_size=SIZE, epochs=1, samples_per_epoch=64, num_threads=1,
                toy_width=5, lae_depth=2)  # LAE's option is LAE's: the toy ignores it
    grid.run_grid("demo", paths, ["ffpp"], ["ffpp"], detectors=["toy"], seeds=[0], jobs=1,
                  overrides=tiny)
    saved = json.loads((paths.runs / "demo-toy-ffpp-u00-s0" / "config.json").read_text())
    assert (saved["detector"], saved["detector_options"]) == ("toy", {"width": 5})
    table = (paths.results / "detectors.md").read_text()
    assert "| Toy detector " in table
    rows = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ")]
    assert rows[1:] == ["JDFD", "Baseline", "LAE", "Exposing the Deception", "Toy detector"]


def test_a_grid_of_no_named_detectors_trains_every_compared_one(monkeypatch, tmp_path) -> None:
    """Notebooks 06 and 08 leave ``DETECTORS`` None: every detector that joins the comparison
    is trained, and the report is told which were."""
    from jdfd_lib.experiments import grid

    trained, told = [], []
    monkeypatch.setattr(grid, "train_and_evaluate", lambda cfg, *a, **k: trained.append(cfg))
    monkeypatch.setattr(grid.report, "write_all", lambda *a: told.append(a[3]))
    paths = grid.Paths(faces=tmp_path, runs=tmp_path, results=tmp_path)
    grid.run_grid("demo", paths, ["ffpp"], ["ffpp"], detectors=None, jobs=1)
    assert [c.detector for c in trained] == told[0] == compared_detectors()


@pytest.mark.parametrize("name, value", [("depth", "3"), ("depth", 2.0), ("mask_budget", "x"),
                                         ("vgg_weights", 5)])
def test_an_option_of_another_type_is_refused(name: str, value) -> None:
    """A checkpoint's ``detector_options`` are the file's data: each is checked against the
    option's declared type before the detector's own checks compare it."""
    from jdfd_lib.detectors.base import build_options
    from jdfd_lib.detectors.lae import LAEOptions

    with pytest.raises(ValueError, match=rf"detector 'lae': lae_{name} must be "):
        build_options(LAEOptions, {name: value}, "lae")

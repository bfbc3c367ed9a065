"""Structured configs: one dataclass per config group, so Hydra rejects typos and wrong types at
composition, before TensorFlow is imported or an MLflow run exists. Imports nothing from the
project and nothing of Hydra (`pipeline.__main__` puts `Config` in Hydra's ConfigStore).

Names (stages, methods, attacks, optimizers, schedules, strategies) are plain strings here:
each kind has one registry, and `pipeline.app.check` checks them against it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional


class Precision(enum.Enum):
    float32 = "float32"
    mixed_float16 = "mixed_float16"
    mixed_bfloat16 = "mixed_bfloat16"


@dataclass
class DatasetConfig:
    name: str = "digits"
    data_dir: Optional[str] = None  # TFDS data_dir; null: TFDS's own (~/tensorflow_datasets)
    image_size: Optional[List[int]] = None  # [h, w] or [h, w, c]; null keeps the dataset's
    augment: bool = False
    validation_fraction: float = 0.1
    target: str = "label"
    download: bool = True
    options: Dict[str, Any] = field(default_factory=dict)  # offline generators' parameters
    train_examples: Optional[int] = None  # a seeded random subset of the training split; null: all of it
    # the standard attack budgets per norm ("inf", "2"), in pixel units of the [0, 1] input
    budgets: Dict[str, float] = field(default_factory=lambda: {"inf": 8 / 255, "2": 0.5})


@dataclass
class ModelConfig:
    name: str = "lenet5"
    options: Dict[str, Any] = field(default_factory=dict)  # the architecture's own options
    from_run: Optional[str] = None  # an MLflow run id: analyse the model it logged instead of training
    pretrained: Optional[str] = None  # imagenet | hed | a weights file; null: random initialisation
    freeze_base: bool = False  # train only the new head on top of the pretrained base
    unfreeze_at: Optional[int] = None  # epoch (0-based) from which the base trains too
    unfreeze_lr_scale: float = 0.1  # learning-rate factor from unfreeze_at on


@dataclass
class LayersConfig:
    impl: str = (
        "custom"  # custom (the project's hand-written layers) | keras (keras.layers); a group, so Hydra checks it
    )


@dataclass
class OptimizerConfig:
    name: str = "adam"  # pipeline.training.OPTIMIZERS
    lr: float = 1e-3
    momentum: Optional[float] = None  # sgd and rmsprop only
    weight_decay: Optional[float] = None
    schedule: str = "constant"  # pipeline.training.SCHEDULES
    step_every: int = 10  # schedule=step: epochs between decays
    step_factor: float = 0.1  # schedule=step: multiplier at each decay


@dataclass
class AdversarialTrainingConfig:
    attack: Optional[str] = None  # null: clean training; else pipeline.attacks.TRAINING_ATTACKS
    eps: float = 0.1  # L-inf budget of the training attack
    steps: int = 5  # pgd steps (step size 2.5 * eps / steps)
    ratio: float = 0.5  # share of each batch replaced by its adversarial version


@dataclass
class TrainerConfig:
    epochs: int = 60
    batch_size: int = 64  # global batch, split across replicas
    seed: Optional[int] = 0  # null: drawn at random, recorded in the run
    deterministic: bool = True  # TensorFlow op determinism (reproducible, slower on GPU)
    precision: Precision = Precision.float32
    jit_compile: bool = False
    steps_per_execution: Optional[int] = None  # training steps per compiled call; null: about 0.1 s of them
    strategy: str = "default"  # pipeline.training.STRATEGIES
    resume: bool = False  # continue the latest run of the same config from its checkpoint
    resume_dir: Optional[str] = None  # or continue this run directory
    early_stopping_patience: Optional[int] = None  # epochs without validation improvement
    steps_per_epoch: Optional[int] = None  # cap (debugging); null: the whole split
    eval_steps: Optional[int] = None  # cap on validation and test batches
    adversarial: AdversarialTrainingConfig = field(default_factory=AdversarialTrainingConfig)


@dataclass
class TrackingConfig:
    uri: Optional[str] = None  # null: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db here
    experiment: str = "convnets"
    run_name: Optional[str] = None  # null: model-dataset-impl
    log_model: bool = True
    registered_model_name: Optional[str] = None  # register the logged model under this name
    registered_model_alias: Optional[str] = None  # and point this alias (e.g. champion) at its version
    probe_timeout_s: float = 10.0  # an http(s) tracking server must answer within this
    system_metrics_interval_s: Optional[float] = 5.0  # CPU, memory (GPU where present); null: off
    heartbeat_stale_s: float = 3600.0  # a RUNNING run of another host silent this long is dead (pipeline.tracking.reap)


@dataclass
class InterpolationConfig:
    source_dir: Optional[str] = None  # images without the attribute (deep feature interpolation); null: skipped
    target_dir: Optional[str] = None  # images with it
    layers: Optional[List[str]] = None  # null: block3/4/5_conv1 (VGG's conv3_1, conv4_1, conv5_1) or visualize.layers
    strengths: List[float] = field(default_factory=lambda: [1.0, 2.0, 4.0])  # multiples of the attribute vector
    num_images: int = 2  # test images edited
    max_examples: int = 200  # images read from each folder
    steps: int = 150  # Adam steps of the reconstruction
    learning_rate: float = 0.03
    tv_weight: float = 10.0  # weight of the total-variation prior on the change


@dataclass
class FaithfulnessConfig:  # method faithfulness: are the attribution maps about the model? (visualize.faithfulness)
    methods: List[str] = field(
        default_factory=lambda: [
            "saliency", "smoothgrad", "occlusion", "grad_cam", "grad_cam_plus_plus", "score_cam", "integrated_gradients"
        ]
    )  # fmt: skip  # pipeline.visualize.ATTRIBUTIONS
    num_images: int = 16  # test images scored
    baseline: str = "blur"  # what a removed pixel becomes: blur | mean | zero
    steps: int = 50  # points of the deletion and insertion curves
    grid: int = 9  # MuFidelity: cells per side
    subset: float = 0.2  # MuFidelity: share of the cells removed per subset
    samples: int = 200  # MuFidelity: random subsets per image
    randomization_images: int = 8  # images the randomization check explains
    randomization_threshold: float = 0.5  # Spearman once every layer is random above this: the method is flagged
    batch_size: int = 256  # the most perturbed images the model sees at once


@dataclass
class VisualizeConfig:
    methods: Optional[List[str]] = None  # pipeline.visualize.METHODS; null: all; those that do not apply are skipped
    layers: Optional[List[str]] = None  # layers to look at; null: after the first, middle and last conv
    num_images: int = 8  # test images shown per method
    filters_per_layer: int = 8  # activation maximization: filters per layer
    steps: int = 96  # gradient-ascent steps for activation maximization and class models
    dream_steps: int = 20  # DeepDream steps per octave
    dream_frames: int = 4  # DeepDream zoom-and-repeat frames (deep_dream.gif)
    class_models: Optional[List[int]] = None  # classes whose class-model images are grown; null: the first 20
    embedding_examples: int = 500  # test images in the t-SNE
    interpolation: InterpolationConfig = field(default_factory=InterpolationConfig)
    faithfulness: FaithfulnessConfig = field(default_factory=FaithfulnessConfig)
    seed: int = 0


@dataclass
class AutoAttackConfig:
    version: Optional[str] = "fast"  # fast | standard (pipeline.attacks.autoattack.VERSIONS) | null: off
    norm: str = "inf"  # inf | 2
    eps: Optional[float] = None  # null: the dataset's standard budget, dataset.budgets[norm]
    num_examples: int = 256  # test examples the ensemble attacks
    settings: Dict[str, Dict[str, Any]] = field(default_factory=dict)  # per member, over the version's


@dataclass
class SanityConfig:  # thresholds of pipeline.attacks.sanity's checks (a value above one fails)
    examples: int = 64  # examples the unbounded and more-iterations checks attack
    eps_rise: float = 0.02
    unbounded: float = 0.01
    black_box: float = 0.02
    more_iterations: float = 0.02
    deterministic: float = 1e-5


@dataclass
class AdversarialConfig:
    num_examples: int = 256  # test examples attacked for the robustness curves
    epsilons: List[float] = field(default_factory=lambda: [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3])  # L-inf budgets
    pgd_steps: int = 10  # PGD steps per budget (step size 2.5 * eps / steps, random start)
    minimal_examples: int = 64  # examples searched for their minimal perturbation (and DeepFool)
    max_eps: float = 0.5  # the largest L-inf budget the minimal search tries
    gallery: int = 4  # examples shown per attack
    gallery_eps: float = 0.1  # L-inf budget of the FGSM and PGD gallery
    targeted: Optional[List[int]] = (
        None  # [source, target] classes of the targeted example; null: 3 -> 8 when they exist
    )
    seed: int = 0
    autoattack: AutoAttackConfig = field(default_factory=AutoAttackConfig)
    sanity: SanityConfig = field(default_factory=SanityConfig)


@dataclass
class DetectConfig:  # the detection stage (pipeline.detection): datasets with canvases, e.g. digit_canvas
    canvases: int = 200  # test canvases of unseen digits
    seed: int = 0
    threshold: float = 0.5  # a window is a box when its best object class is this likely
    nms_iou: float = 0.3  # non-maximum suppression: a box overlapping a better one by more is dropped
    match_iou: float = 0.5  # a box finds a digit at this IoU (mAP@0.5)
    shown: int = 8  # canvases in the figure


@dataclass
class SweepPlotConfig:  # a multirun's summary figure in its parent run (pipeline.sweeps.plot)
    x: Optional[str] = None  # a swept setting, e.g. dataset.train_examples; null: no figure
    y: str = "test_accuracy"  # a metric every job logs
    lines: Optional[str] = None  # a setting whose values each get a line, e.g. model.name
    log_x: bool = False
    title: Optional[str] = None


@dataclass
class Config:
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    layers: LayersConfig = field(default_factory=LayersConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    visualize: VisualizeConfig = field(default_factory=VisualizeConfig)
    adversarial: AdversarialConfig = field(default_factory=AdversarialConfig)
    detect: DetectConfig = field(default_factory=DetectConfig)
    stages: Optional[List[str]] = None  # null: every stage of pipeline.stages.STAGES, in order
    optimized_metric: str = "test_accuracy"  # what a job returns to the sweeper (Optuna's objective)
    sweep_plot: SweepPlotConfig = field(default_factory=SweepPlotConfig)
    sweep_resume: bool = False  # -m ... sweep_resume=true: continue the newest sweep of the same command

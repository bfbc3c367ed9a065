"""The configuration's one source: every setting, its type, its default and what it means, one
dataclass per section, so Hydra rejects typos and wrong types at composition, before TensorFlow
is imported or an MLflow run exists. The YAML files under `conf/` hold only what differs from
these defaults: a choice (`dataset=cifar10`, `model=resnet20`, `optimizer=sgd`, `layers=keras`)
or a preset (`experiment=...`, `debug=tiny`); a choice's identity (`dataset.name`, ...) is set by
its file alone. Imports nothing from the project and nothing of Hydra (`pipeline.__main__` puts
`Config` in Hydra's ConfigStore).

Names (stages, methods, attacks, optimizers, schedules, strategies) are plain strings here:
each kind has one registry, and `pipeline.app.check` checks them against it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from omegaconf import MISSING


class Precision(enum.Enum):
    float32 = "float32"
    mixed_float16 = "mixed_float16"
    mixed_bfloat16 = "mixed_bfloat16"


@dataclass
class DatasetConfig:  # conf/dataset/<name>.yaml: what each dataset sets differently
    name: str = MISSING  # pipeline.data's dataset: an offline builder, a TFDS name, or photos
    data_dir: Optional[str] = None  # TFDS data_dir; null: TFDS's own (~/tensorflow_datasets or $TFDS_DATA_DIR)
    image_size: Optional[List[int]] = None  # [h, w] or [h, w, c] to resize / change channels; null keeps the dataset's
    augment: bool = False  # train split only; what it does depends on the dataset (its file says)
    validation_fraction: float = 0.1  # share of train held out for validation when there is no validation split
    target: str = "label"  # label | mask (per-pixel classes) | image (autoencoders) | pair (Siamese networks)
    download: bool = True  # allow downloading a missing TFDS dataset
    # an offline dataset's generator parameters, e.g. {image_size: 64}
    options: Dict[str, Any] = field(default_factory=dict)
    train_examples: Optional[int] = None  # a seeded random subset of the training split; null: all of it
    # the standard attack budgets per norm ("inf", "2"), in pixel units of the [0, 1] input: RobustBench's CIFAR ones
    budgets: Dict[str, float] = field(default_factory=lambda: {"inf": 8 / 255, "2": 0.5})


@dataclass
class ModelConfig:  # conf/model/<name>.yaml
    name: str = MISSING  # an architecture of pipeline.models.ARCHITECTURES
    # the architecture's options; add one with +model.options.<name>=<value>
    options: Dict[str, Any] = field(default_factory=dict)
    # a model to analyse instead of training one: an MLflow run id, an MLflow model URI
    # (models:/<name>@<alias>, models:/<name>/<version>, runs:/<run id>/model) or a .keras file
    source: Optional[str] = None
    safe_mode: bool = True  # Keras's safe mode: a saved model holding code is refused; false for a file you trust
    pretrained: Optional[str] = None  # imagenet | hed | a weights file; null: random initialisation
    freeze_base: bool = False  # train only the new head on top of the pretrained base
    unfreeze_at: Optional[int] = None  # epoch (0-based) from which the base trains too
    unfreeze_lr_scale: float = 0.1  # learning-rate factor from unfreeze_at on


@dataclass
class LayersConfig:  # conf/layers/<impl>.yaml
    # custom (the project's hand-written layers) | keras (keras.layers); a group, so Hydra checks it
    impl: str = MISSING


@dataclass
class OptimizerConfig:  # conf/optimizer/<name>.yaml
    name: str = MISSING  # a name in pipeline.training.OPTIMIZERS
    lr: float = MISSING  # learning rate (the peak one under a schedule)
    momentum: Optional[float] = None  # sgd and rmsprop only
    weight_decay: Optional[float] = None  # decoupled weight decay; null: none
    schedule: str = "constant"  # a name in pipeline.training.SCHEDULES, stepped every batch
    step_every: int = 10  # schedule=step: epochs between decays
    step_factor: float = 0.1  # schedule=step: multiplier at each decay


@dataclass
class AdversarialTrainingConfig:  # adversarial training (Madry et al. 2018): trainer.adversarial.attack=pgd
    # null: clean training; else an attack with an eps budget (pipeline.attacks.TRAINING_ATTACKS)
    attack: Optional[str] = None
    eps: float = 0.1  # L-inf budget of the training attack
    steps: int = 5  # pgd steps (step size 2.5 * eps / steps)
    ratio: float = 0.5  # share of each batch replaced by its adversarial version


@dataclass
class TrainerConfig:  # how to train: one path (a strategy.run training step) for every strategy
    epochs: int = 60  # passes over the train split
    batch_size: int = 64  # global batch, split across replicas
    seed: Optional[int] = 0  # seeds Python, NumPy, TensorFlow and the data order; null: drawn at random and recorded
    deterministic: bool = True  # TensorFlow op determinism: two runs give identical metrics (slower on GPU)
    precision: Precision = Precision.float32  # float32 | mixed_float16 | mixed_bfloat16
    jit_compile: bool = False  # XLA-compile the training step
    steps_per_execution: Optional[int] = None  # training steps per compiled call; null: as many as take ~0.1 s
    strategy: str = "default"  # a name in pipeline.training.STRATEGIES: default (one device), mirrored (local GPUs)
    resume: bool = False  # continue the latest run of this same config from its last checkpoint
    resume_dir: Optional[str] = None  # or continue the run in this output directory
    early_stopping_patience: Optional[int] = None  # stop after this many epochs without a better validation loss
    steps_per_epoch: Optional[int] = None  # cap on batches per epoch (debugging); null: the whole split
    eval_steps: Optional[int] = None  # cap on validation and test batches; null: all
    adversarial: AdversarialTrainingConfig = field(default_factory=AdversarialTrainingConfig)


@dataclass
class TrackingConfig:  # MLflow: where runs go and what is logged
    uri: Optional[str] = None  # null: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db in this directory
    experiment: str = "convnets"  # MLflow experiment name
    run_name: Optional[str] = None  # null: <model>-<dataset>-<layers>
    log_model: bool = True  # log the trained model (a logged model MLflow can serve)
    registered_model_name: Optional[str] = None  # also register it in the model registry under this name
    registered_model_alias: Optional[str] = None  # and point this alias (e.g. champion) at the new version
    probe_timeout_s: float = 10.0  # an http(s) tracking server must answer within this many seconds
    system_metrics_interval_s: Optional[float] = 5.0  # sample CPU, memory (GPU where present) this often; null: off
    heartbeat_stale_s: float = 3600.0  # a RUNNING run whose heartbeat (each epoch) from another host is older is dead


@dataclass
class InterpolationConfig:  # deep feature interpolation (Upchurch et al. 2017), method feature_interpolation
    source_dir: Optional[str] = None  # a folder of images without the attribute; null: the method is skipped
    target_dir: Optional[str] = None  # a folder of images with it
    # null: block3_conv1, block4_conv1, block5_conv1 (after ReLU) when present, else visualize.layers
    layers: Optional[List[str]] = None
    # edits at these multiples of the attribute vector
    strengths: List[float] = field(default_factory=lambda: [1.0, 2.0, 4.0])
    num_images: int = 2  # test images edited
    max_examples: int = 200  # images read from each folder
    steps: int = 150  # Adam steps reconstructing each edit
    learning_rate: float = 0.03  # Adam's step on the pixels
    tv_weight: float = 10.0  # total-variation prior on the change (higher: smoother edits)


@dataclass
class FaithfulnessConfig:  # are the attribution maps about the model? (scores, the randomization check)
    methods: List[str] = field(
        default_factory=lambda: [
            "saliency", "smoothgrad", "occlusion", "grad_cam", "grad_cam_plus_plus", "score_cam", "integrated_gradients"
        ]
    )  # fmt: skip  # names in pipeline.visualize.ATTRIBUTIONS
    num_images: int = 16  # test images scored (a random map on the same images is the floor)
    deletion_baseline: str = "zero"  # what a removed pixel becomes (deletion, MuFidelity): blur | mean | zero
    insertion_baseline: str = "blur"  # what insertion starts from: blur | mean | zero
    steps: int = 50  # points of the deletion and insertion curves (RISE)
    curve_score: str = "probability"  # the class's score along the curves: probability | logit
    grid: int = 8  # MuFidelity: the image cut into grid x grid equal cells
    subset: float = 0.2  # MuFidelity: share of the cells removed per subset (always that many)
    samples: int = 200  # MuFidelity: random subsets per image
    mufidelity_score: str = "logit"  # MuFidelity: the score whose drop is correlated: logit | probability
    correlation: str = "pearson"  # MuFidelity: pearson | spearman
    randomization_images: int = 8  # images the randomization check explains (Adebayo et al. 2018)
    # rank correlation above this once every layer is random: the method is flagged
    randomization_threshold: float = 0.5
    batch_size: int = 256  # the most perturbed images the model sees at once


@dataclass
class VisualizeConfig:  # the visualization stage (stages=[..., visualize]): what the network learned
    # null: every method in pipeline.visualize.METHODS that fits the model, in the report's order
    methods: Optional[List[str]] = None
    # layers to look at, e.g. [conv1_relu, conv3_relu]; null: after the first, middle and last conv
    layers: Optional[List[str]] = None
    num_images: int = 8  # test images shown per method
    filters_per_layer: int = 8  # activation maximization: filters shown per layer
    steps: int = 96  # gradient-ascent steps (activation maximization, class models)
    dream_steps: int = 20  # DeepDream steps per octave
    dream_frames: int = 4  # DeepDream zoom-and-repeat frames, saved as deep_dream.gif and PNG frames
    # classes whose class-model images are grown, e.g. [18, 404]; null: the first 20
    class_models: Optional[List[int]] = None
    embedding_examples: int = 500  # test images in the t-SNE plot
    interpolation: InterpolationConfig = field(default_factory=InterpolationConfig)
    faithfulness: FaithfulnessConfig = field(default_factory=FaithfulnessConfig)
    seed: int = 0  # noise, jitter and example choice


@dataclass
class AutoAttackConfig:  # the AutoAttack ensemble's per-example worst case (pipeline.attacks.autoattack)
    # fast | standard (members' settings: pipeline.attacks.AUTOATTACK_VERSIONS) | null: off
    version: Optional[str] = "fast"
    norm: str = "inf"  # inf | 2
    # null: the dataset's standard budget, dataset.budgets[norm]; pixel units of the [0, 1] input
    eps: Optional[float] = None
    num_examples: int = 256  # test examples the ensemble attacks
    # per member, over the version's, e.g. {apgd-t: {target_classes: 5}, square: {queries: 2000}}
    settings: Dict[str, Dict[str, Any]] = field(default_factory=dict)


@dataclass
class SanityConfig:  # checks that the robust accuracy is not an artefact; a value above its threshold warns
    examples: int = 64  # examples the unbounded and more-iterations checks attack
    eps_rise: float = 0.02  # robust accuracy may rise by at most this between budgets
    unbounded: float = 0.01  # robust accuracy with the whole [0, 1] range as budget
    black_box: float = 0.02  # share of the attacked examples Square broke after the gradient attacks
    more_iterations: float = 0.02  # how much worse 2x steps and 2 restarts may do
    deterministic: float = 1e-5  # largest logit difference between two inference passes
    probabilities: float = 0.0  # 1 when the attacked outputs are probabilities (AutoAttack's flag)
    zero_gradients: float = 0.0  # share of examples whose loss gradient is exactly zero (AutoAttack's flag)
    square_gain: float = 0.002  # robust accuracy Square took off after the white-box members (AutoAttack's flag)


@dataclass
class AdversarialConfig:  # the adversarial stage (stages=[..., adversarial]): how robust the trained model is
    num_examples: int = 256  # test examples attacked for the robustness curves
    # L-inf budgets (data in [0, 1]); 0 gives the clean accuracy
    epsilons: List[float] = field(default_factory=lambda: [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3])
    pgd_steps: int = 10  # PGD steps per budget (step 2.5 * eps / steps): the curves (random start), the minimal search
    minimal_examples: int = 64  # examples searched for their smallest flipping budget, and attacked by DeepFool
    deepfool_steps: int = 50  # DeepFool's most linearised steps per example
    max_eps: float = 0.5  # the largest L-inf budget that search tries
    gallery: int = 4  # examples shown per attack
    gallery_eps: float = 0.1  # L-inf budget of the FGSM and PGD gallery
    # [source, target] classes of the targeted example; null: 3 -> 8 when both exist
    targeted: Optional[List[int]] = None
    targeted_steps: int = 50  # the targeted example: PGD's steps, and the most repeats of the lecture's gradient step
    seed: int = 0  # example choice and PGD random starts
    autoattack: AutoAttackConfig = field(default_factory=AutoAttackConfig)
    sanity: SanityConfig = field(default_factory=SanityConfig)


@dataclass
class DetectConfig:  # the detection stage (pipeline.detection): datasets with canvases, e.g. digit_canvas
    canvases: int = 200  # test canvases of unseen digits
    seed: int = 0  # which canvases are drawn
    threshold: float = 0.5  # a window is a box when its best object class is this likely
    nms_iou: float = 0.3  # non-maximum suppression: a box overlapping a better one by more is dropped
    match_iou: float = 0.5  # a box finds a digit at this IoU (mAP@0.5)
    shown: int = 8  # canvases in the figure


@dataclass
class PredictConfig:  # the predict stage (pipeline.prediction): the model on images of one's own
    # a folder of image files (sub-folders too) or a .npy file of images (N, H, W, C) in [0, 1]
    input: Optional[str] = None
    top: int = 5  # classes per image in predictions.csv
    shown: int = 16  # images on the contact sheet
    batch_size: int = 64  # images per forward pass


@dataclass
class SweepPlotConfig:  # a multirun's summary figure in its parent run (pipeline.sweeps.plot)
    x: Optional[str] = None  # a swept setting, e.g. dataset.train_examples; null: no figure
    y: str = "test_accuracy"  # a metric every job logs
    lines: Optional[str] = None  # a setting whose values each get a line, e.g. model.name
    log_x: bool = False  # a log-scaled x axis
    title: Optional[str] = None  # null: "<y> against <x>"


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
    predict: PredictConfig = field(default_factory=PredictConfig)
    # the stages to run, in the registry's order, e.g. [train]; without train, name a trained model
    # with model.source=<run id | models:/... | file.keras>; null: the default stages of pipeline.stages.STAGES
    stages: Optional[List[str]] = None
    # what each job returns to the sweeper: any metric the run measures, e.g. val_accuracy, val_loss
    # or robust_accuracy_pgd_eps_0.1; null: the target's own, test_accuracy (label), test_mean_iou
    # (mask), test_psnr (image), test_roc_auc (pair)
    optimized_metric: Optional[str] = None
    sweep_plot: SweepPlotConfig = field(default_factory=SweepPlotConfig)
    # the command of a crashed multirun plus sweep_resume=true continues it: FINISHED jobs skipped,
    # the others resumed from their checkpoints
    sweep_resume: bool = False

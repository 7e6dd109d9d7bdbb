"""Step time and peak memory of models, and the masking micro-benchmark,
for ``tools/analysis_tools/compare_speed.py``.

Two models are compared on the same synthetic batch, their steps
alternating (A B B A ...) so that clock drift and thermal state weigh on
both alike. A *step* is what the Runner runs per iteration:
``model.train_step(data, optim_wrapper)`` (data preprocessor, forward, loss,
backward, optimizer step) in train mode, ``model.test_step(data)`` under
``no_grad`` in test mode. The data preprocessor is part of the step, so
MaskAnyNet's masking is timed with the model it feeds.

Peak memory is measured for each model alone, in a fresh process, from
before the model is built to the end of its steps (parameters, gradients,
optimizer state and activations): ``torch.cuda.max_memory_allocated`` on
CUDA, the growth of the peak resident set size (``VmHWM``) on the CPU, less
the growth of its file-backed part (``RssFile``: pages of torch's shared
libraries faulted in as kernels first run, some 40 MiB whose size depends
on the page cache, not on the model).
The fresh processes are forked from a forkserver that has imported torch
and the OpenMMLab libraries once: a spawned process would import them
again for every measurement (8 to 10 s on a 2-core CPU), and a process
forked from the caller would start with the caller's memory. The
forkserver never touches CUDA, so its children may.
"""
import multiprocessing
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from mmmaskreuse.masking import (CombinedMask, MaskReuse,
                                 reference_mask_and_reuse_numpy)

MiB = 2**20


def task_of(model: nn.Module) -> str:
    """``'cls'``, ``'det'``, ``'seg'`` or ``'selfsup'``: which upstream
    library's data samples the model's data preprocessor expects."""
    names = [base.__name__ for base in type(model.data_preprocessor).__mro__]
    for name, task in (('DetDataPreprocessor', 'det'),
                       ('SegDataPreProcessor', 'seg'),
                       ('SelfSupDataPreprocessor', 'selfsup')):
        if name in names:
            return task
    return 'cls'


def _num_classes(model: nn.Module) -> int:
    """The first ``num_classes`` a module of the model declares (1 if
    none): labels of the synthetic batch are drawn below it."""
    for module in model.modules():
        num_classes = getattr(module, 'num_classes', None)
        if isinstance(num_classes, int) and num_classes > 0:
            return num_classes
    return 1


def synthetic_batch(model: nn.Module,
                    batch_size: int,
                    shape: Sequence[int],
                    seed: int = 0,
                    device: Optional[torch.device] = None) -> dict:
    """A batch as the model's dataloader would give it, with random content.

    Images are uint8 [3, H, W] tensors; the data samples are those of the
    model's library, with random ground truth: a label (classification),
    three boxes with box-shaped masks (detection), a label map
    (segmentation), nothing (self-supervised) but SimMIM's mask; and the
    pipeline's
    ``reuse_img`` where a MaskAnyNet classifier's ``reuse_view`` is
    'augmented'.

    Args:
        model (nn.Module): The model; its data preprocessor tells the task.
        batch_size (int): Images in the batch.
        shape (tuple[int, int]): Image size ``(H, W)``.
        seed (int): Seed of the content. Defaults to 0.
        device (torch.device, optional): Where the images are put, so that
            the host-to-device copy is not timed (a dataloader overlaps
            it). Defaults to None (the CPU).

    Returns:
        dict: ``inputs`` (list of tensors; one stacked tensor for
        self-supervised models) and ``data_samples``.
    """
    height, width = shape
    rng = torch.Generator().manual_seed(seed)
    inputs = [
        torch.randint(0, 256, (3, height, width), generator=rng,
                      dtype=torch.uint8).to(device) for _ in range(batch_size)
    ]
    task, num_classes = task_of(model), _num_classes(model)
    labels = torch.randint(0, num_classes, (batch_size, 3), generator=rng)
    meta = dict(img_shape=(height, width), ori_shape=(height, width),
                pad_shape=(height, width), scale_factor=(1., 1.),
                flip=False, img_path='')
    if task == 'det':
        samples = [
            _det_sample(meta, labels[i], rng) for i in range(batch_size)
        ]
    elif task == 'seg':
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample
        samples = []
        for _ in range(batch_size):
            sample = SegDataSample(metainfo=meta)
            sample.gt_sem_seg = PixelData(data=torch.randint(
                0, num_classes, (1, height, width), generator=rng))
            samples.append(sample)
    else:
        from mmpretrain.structures import DataSample
        samples = [DataSample(metainfo=meta) for _ in range(batch_size)]
        if task == 'cls':
            for sample, label in zip(samples, labels[:, 0]):
                sample.set_gt_label(label)
            if getattr(model.data_preprocessor, 'reuse_view',
                       None) == 'augmented':
                # the loaders' AutoAugment copy (its cost is not the step's)
                for sample in samples:
                    sample.set_field(
                        torch.randint(0, 256, (3, height, width),
                                      generator=rng,
                                      dtype=torch.uint8).to(device),
                        'reuse_img')
        else:  # self-supervised recipes collate with default_collate
            inputs = torch.stack(inputs)
            _add_simmim_masks(model, samples, height, width, seed)
    return dict(inputs=inputs, data_samples=samples)


def _add_simmim_masks(model: nn.Module, samples: list, height: int,
                      width: int, seed: int) -> None:
    """Give a SimMIM model's samples the ``mask`` its pipeline's
    ``SimMIMMaskGenerator`` would (32-px cells, or the backbone's
    ``mask_patch_size``; ratio 0.6, or the backbone's first shot)."""
    from mmpretrain.datasets.transforms import SimMIMMaskGenerator
    from mmpretrain.models.selfsup import SimMIM
    if not isinstance(model, SimMIM):
        return
    if height != width:
        raise ValueError('SimMIM masks need square images, got '
                         f'shape=({height}, {width})')
    backbone = model.backbone
    generator = SimMIMMaskGenerator(
        input_size=height,
        mask_patch_size=getattr(backbone, 'mask_patch_size', 32),
        model_patch_size=backbone.patch_embed.projection.stride[0],
        mask_ratio=getattr(backbone, 'mask_ratios', (0.6, ))[0])
    state = np.random.get_state()
    np.random.seed(seed)
    for sample in samples:
        sample.mask = torch.from_numpy(generator.transform({})['mask'])
    np.random.set_state(state)


def _det_sample(meta: dict, labels: torch.Tensor, rng: torch.Generator):
    """A detection data sample with one box (and box-shaped mask) per
    label, each 1/8 to 1/2 of the image side."""
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData
    height, width = meta['img_shape']
    size = torch.tensor([width, height]) * (
        1 / 8 + 3 / 8 * torch.rand(len(labels), 2, generator=rng))
    corner = (torch.tensor([width, height]) - size) * torch.rand(
        len(labels), 2, generator=rng)
    boxes = torch.cat([corner, corner + size], dim=1).floor()
    masks = np.zeros((len(labels), height, width), np.uint8)
    for mask, (x1, y1, x2, y2) in zip(masks, boxes.int().tolist()):
        mask[y1:y2, x1:x2] = 1
    sample = DetDataSample(metainfo=meta)
    sample.gt_instances = InstanceData(
        bboxes=boxes, labels=labels, masks=BitmapMasks(masks, height, width))
    sample.ignored_instances = InstanceData(bboxes=torch.zeros(0, 4),
                                            labels=torch.zeros(0).long())
    return sample


def build_step(model: nn.Module, cfg, mode: str) -> Callable[[dict], None]:
    """One Runner iteration of ``model`` as a function of the batch.

    Args:
        model (nn.Module): The model, on its device.
        cfg (Config): Its config; train mode builds ``cfg.optim_wrapper``
            (an ``AmpOptimWrapper`` becomes a plain one off CUDA, where AMP
            cannot run).
        mode (str): ``'train'`` or ``'test'``.

    Returns:
        callable: ``step(data)``.
    """
    if mode == 'test':
        model.eval()

        def test_step(data):
            with torch.no_grad():
                model.test_step(data)

        return test_step
    if mode != 'train':
        raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
    from mmengine.optim import build_optim_wrapper
    optim_cfg = cfg.optim_wrapper.copy()
    if (optim_cfg.get('type') == 'AmpOptimWrapper'
            and next(model.parameters()).device.type != 'cuda'):
        optim_cfg.type = 'OptimWrapper'
        optim_cfg.pop('loss_scale', None)
        optim_cfg.pop('dtype', None)
    optim_wrapper = build_optim_wrapper(model, optim_cfg)
    model.train()
    return lambda data: model.train_step(data, optim_wrapper)


def _synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_alternating(steps: Sequence[Callable[[], None]],
                     iters: int,
                     warmup: int,
                     device: torch.device) -> List[List[float]]:
    """Seconds of each call of ``steps``, run in turns.

    Iteration ``i`` runs the steps in order when ``i`` is even and in
    reverse when odd (A B, B A, ...), so neither always runs first.

    Args:
        steps (Sequence[callable]): Functions of no argument.
        iters (int): Timed iterations.
        warmup (int): Untimed iterations first.
        device (torch.device): Synchronised around each call.

    Returns:
        list[list[float]]: ``iters`` timings per step.
    """
    times = [[] for _ in steps]
    for i in range(warmup + iters):
        order = range(len(steps)) if i % 2 == 0 else reversed(
            range(len(steps)))
        for index in order:
            _synchronize(device)
            start = time.perf_counter()
            steps[index]()
            _synchronize(device)
            if i >= warmup:
                times[index].append(time.perf_counter() - start)
    return times


def _memory_status() -> Dict[str, int]:
    """Bytes of this process's ``VmRSS``, ``VmHWM`` and ``RssFile``. Unlike
    ``ru_maxrss``, which Linux carries over from the parent through fork
    and exec, ``VmHWM`` starts afresh with each new process."""
    wanted = ('VmRSS', 'VmHWM', 'RssFile')
    status = {}
    with open('/proc/self/status') as f:
        for line in f:
            key, _, value = line.partition(':')
            if key in wanted:
                status[key] = int(value.split()[0]) * 1024
    missing = [key for key in wanted if key not in status]
    if missing:
        raise RuntimeError(f'no {missing} in /proc/self/status')
    return status


def _peak_memory_worker(config: str, cfg_options: Optional[dict], mode: str,
                        batch_size: int, shape: Tuple[int, int], device: str,
                        steps: int, seed: int) -> int:
    """Runs in a fresh process: peak bytes of ``steps`` steps of a model."""
    from mmmaskreuse.engine import build_model, load_config
    from mmmaskreuse.models import check_masked_pairing
    device = torch.device(device)
    cfg = load_config(config, cfg_options)
    base = _memory_status()
    model = build_model(cfg)
    # a mispaired config fails here as in train.py, not in its first step
    check_masked_pairing(model)
    model = model.to(device)
    step = build_step(model, cfg, mode)
    data = synthetic_batch(model, batch_size, shape, seed, device)
    for _ in range(steps):
        step(data)
    _synchronize(device)
    if device.type == 'cuda':
        return torch.cuda.max_memory_allocated(device)
    end = _memory_status()
    # file pages faulted in after the peak are subtracted too; the first
    # step faults in the code the later ones run, so with steps >= 2 a
    # peak in a later step is not understated
    return (end['VmHWM'] - base['VmRSS']) - (end['RssFile'] -
                                             base['RssFile'])


def _fresh_processes() -> multiprocessing.context.BaseContext:
    """Processes forked from a forkserver that has imported this module and
    the upstream model packages (a missing one is skipped)."""
    context = multiprocessing.get_context('forkserver')
    context.set_forkserver_preload(
        [__name__, 'mmpretrain.models', 'mmdet.models', 'mmseg.models'])
    return context


def peak_memory(config: str, cfg_options: Optional[dict], mode: str,
                batch_size: int, shape: Tuple[int, int], device: str,
                steps: int = 2, seed: int = 0) -> int:
    """Peak memory in bytes of a model's steps, measured alone in a fresh
    process (forked from a forkserver, not from the caller): parameters,
    gradients, optimizer state and activations. See the module docstring
    for what is counted per device.

    Args:
        config (str): Config file of the model.
        cfg_options (dict, optional): Overrides of the config.
        mode (str): ``'train'`` or ``'test'``.
        batch_size (int): Images per batch.
        shape (tuple[int, int]): Image size ``(H, W)``.
        device (str): ``'cpu'`` or ``'cuda'``.
        steps (int): Steps run (the first allocates the optimizer state).
            Defaults to 2.
        seed (int): Seed of the synthetic batch. Defaults to 0.
    """
    with ProcessPoolExecutor(1, mp_context=_fresh_processes()) as pool:
        return pool.submit(_peak_memory_worker, config, cfg_options, mode,
                           batch_size, tuple(shape), str(device), steps,
                           seed).result()


def benchmark_masking(mask_reuse: Optional[MaskReuse] = None,
                      batch_size: int = 64,
                      shape: Sequence[int] = (224, 224),
                      device: torch.device = torch.device('cpu'),
                      iters: int = 10,
                      seed: int = 0) -> Dict[str, float]:
    """Median seconds of batched masking on ``device`` and of the per-image
    numpy reference on the CPU, for one batch.

    The batched side samples the masks and builds masked and reuse images
    (:class:`MaskReuse`); the reference gets the same masks for free and
    only loops over images and cells
    (:func:`reference_mask_and_reuse_numpy`), so the speed-up is a lower
    bound.

    Args:
        mask_reuse (MaskReuse, optional): The masking. Defaults to 25 %
            Combined masks on an 8x8 grid.
        batch_size (int): Images. Defaults to 64.
        shape (tuple[int, int]): Image size. Defaults to (224, 224).
        device (torch.device): Device of the batched side.
        iters (int): Timed runs of each (after one warm-up). Defaults to 10.
        seed (int): Seed of the images and masks. Defaults to 0.

    Returns:
        dict: ``batched`` and ``reference`` seconds, their ``speedup``, and
        the ``operators`` one batched call dispatches
        (:func:`count_operators`).
    """
    if mask_reuse is None:
        mask_reuse = MaskReuse(CombinedMask(mask_ratio=0.25))
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(batch_size, 3, *shape, generator=generator)
    images_np = images.numpy()
    images = images.to(device)
    cell_mask_np = mask_reuse.mask_generator(batch_size, None,
                                             generator).numpy()

    def batched():  # as in training: random numbers drawn on the device
        mask_reuse(images)

    def reference():
        reference_mask_and_reuse_numpy(images_np, cell_mask_np,
                                       mask_reuse.reuse_grid,
                                       mask_reuse.fill_value)

    batched_times, reference_times = time_alternating(
        [batched, reference], iters, 1, device)
    seconds = dict(batched=statistics.median(batched_times),
                   reference=statistics.median(reference_times))
    seconds['speedup'] = seconds['reference'] / seconds['batched']
    seconds['operators'] = count_operators(batched)
    return seconds


def count_operators(fn: Callable[[], object]) -> int:
    """Torch operators one call of ``fn`` dispatches from Python (views
    included). On a GPU each one that computes is at least one kernel
    launch, whose fixed cost dominates small, memory-bound work."""
    profiler = torch.profiler
    with profiler.profile(activities=[profiler.ProfilerActivity.CPU]) as run:
        fn()
    return sum(event.cpu_parent is None and event.name.startswith('aten::')
               for event in run.events())

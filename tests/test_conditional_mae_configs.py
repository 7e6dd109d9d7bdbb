"""The Conditional MAE recipes say what their names and the paper (A.1) say.

Every config also builds its model in tests/test_configs.py.
"""
import copy
import glob
import os.path as osp
import re

import pytest
from mmengine.config import Config

from tests.conftest import REPO, read_recipe
from tests.test_configs import INIT_CHECKPOINT, flatten, last_checkpoint

CONFIGS = osp.join(REPO, 'configs', 'conditional_mae')
ARCHS = {'s': 'deit-small', 'b': 'b', 'l': 'l'}
WIDTHS = {'s': 384, 'b': 768, 'l': 1024}
SHOTS = {
    '0': ((0, ), (0.75, )),
    '0-10': ((0, 10), (0.75, 0.1)),
    '0-10-11': ((0, 10, 11), (0.75, 0.1, 0.1)),
}
# data: (images a GPU, GPUs, total batch of the paper)
PRETRAIN_BATCH = {'in1k': (512, 8, 4096), 'in100': (32, 8, 256)}


def names(kind):
    """The ViT recipes of a kind (the Swin and ConvNeXt V2 ones: see
    test_stage_level_pretrain_recipe_matches_its_name)."""
    return sorted(
        osp.basename(path)
        for path in glob.glob(osp.join(CONFIGS, f'vit-*_{kind}.py')))


def test_every_recipe_of_the_issue_is_there():
    assert names('pretrain') == sorted(
        f'vit-{arch}16_L{shots}_{data}_pretrain.py' for arch in ARCHS
        for shots in SHOTS for data in PRETRAIN_BATCH)
    for kind in ('finetune', 'linprobe'):
        assert names(kind) == sorted(f'vit-{arch}16_{data}_{kind}.py'
                                     for arch in ARCHS
                                     for data in PRETRAIN_BATCH)


@pytest.mark.parametrize('name', names('pretrain'))
def test_pretrain_recipe_matches_its_name_and_the_paper(name):
    arch, shots, data = re.match(r'vit-(\w)16_L([\d-]+)_(\w+)_pretrain.py',
                                 name).groups()
    cfg = read_recipe(osp.join(CONFIGS, name))
    backbone = cfg.model.backbone
    assert cfg.model.type == 'mmmaskreuse.ConditionalMAE'
    assert backbone.type == 'mmmaskreuse.MultiShotMAEViT'
    assert backbone.arch == ARCHS[arch] and backbone.patch_size == 16
    assert cfg.model.neck.embed_dim == WIDTHS[arch]
    assert (tuple(backbone.mask_layers),
            tuple(backbone.mask_ratios)) == SHOTS[shots]
    assert cfg.model.head.norm_pix

    per_gpu, gpus, total = PRETRAIN_BATCH[data]
    assert cfg.train_dataloader.batch_size * gpus == total
    assert cfg.auto_scale_lr.base_batch_size == total
    optimizer = cfg.optim_wrapper.optimizer
    assert optimizer.type == 'AdamW' and optimizer.weight_decay == 0.05
    assert optimizer.lr == pytest.approx(1.5e-4 * total / 256)
    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, warmup.end) == ('LinearLR', 40)
    assert (cosine.type, cosine.end) == ('CosineAnnealingLR', 300)
    assert cfg.train_cfg.max_epochs == 300
    dataset = cfg.train_dataloader.dataset
    assert dataset.data_root.rstrip('/') == {
        'in1k': 'data/imagenet',
        'in100': 'data/imagenet100'
    }[data]


@pytest.mark.parametrize('name', names('finetune'))
def test_finetune_recipe_loads_a_pretrained_encoder(name):
    arch, data = re.match(r'vit-(\w)16_(\w+)_finetune.py', name).groups()
    cfg = read_recipe(osp.join(CONFIGS, name))
    backbone = cfg.model.backbone
    assert backbone.type == 'VisionTransformer'
    assert backbone.out_type == 'avg_featmap'  # global pooling
    init = backbone.init_cfg
    assert init.type == 'Pretrained' and init.prefix == 'backbone.'
    assert init.checkpoint == last_checkpoint(
        f'conditional_mae/vit-{arch}16_L0-10_{data}_pretrain.py')
    assert cfg.model.head.in_channels == WIDTHS[arch]
    assert cfg.model.head.num_classes == {'in1k': 1000, 'in100': 100}[data]
    optim = cfg.optim_wrapper
    assert optim.optimizer.type == 'AdamW'
    assert optim.constructor == 'LearningRateDecayOptimWrapperConstructor'
    # A.1: layer decay 0.65 and drop path 0.1; ViT-L 0.75 and 0.2
    assert optim.paramwise_cfg.layer_decay_rate == (0.75
                                                    if arch == 'l' else 0.65)
    assert backbone.drop_path_rate == (0.2 if arch == 'l' else 0.1)
    warmup, cosine = cfg.param_scheduler
    assert (warmup.end, cosine.end) == (5, 100)
    assert cfg.train_cfg.max_epochs == 100


@pytest.mark.parametrize('name', names('linprobe'))
def test_linear_probe_recipe_is_lars_on_the_frozen_cls_token(name):
    arch, data = re.match(r'vit-(\w)16_(\w+)_linprobe.py', name).groups()
    cfg = read_recipe(osp.join(CONFIGS, name))
    backbone = cfg.model.backbone
    assert backbone.out_type == 'cls_token'
    assert backbone.frozen_stages == {'s': 12, 'b': 12, 'l': 24}[arch]
    assert cfg.model.neck.input_features == WIDTHS[arch]
    assert backbone.init_cfg.checkpoint == last_checkpoint(
        f'conditional_mae/vit-{arch}16_L0-10_{data}_pretrain.py')
    assert cfg.optim_wrapper.optimizer.type == 'LARS'
    assert cfg.train_dataloader.batch_size * 8 == 1024
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(0.1 * 1024 / 256)
    assert cfg.train_cfg.max_epochs == 90


def test_imagenet100_configs_name_the_100_classes_of_the_list():
    with open(osp.join(CONFIGS, 'imagenet100_classes.txt')) as f:
        wnids = f.read().split()
    assert len(set(wnids)) == 100 and wnids == sorted(wnids)
    assert all(re.fullmatch(r'n\d{8}', wnid) for wnid in wnids)
    for name in ('vit-s16_L0-10_in100_pretrain.py',
                 'vit-l16_in100_finetune.py', 'vit-b16_in100_linprobe.py'):
        cfg = read_recipe(osp.join(CONFIGS, name))
        for loader in ('train_dataloader', 'val_dataloader'):
            if loader not in cfg:
                continue
            classes = cfg[loader].dataset.metainfo.classes
            assert osp.samefile(classes,
                                osp.join(CONFIGS, 'imagenet100_classes.txt'))


@pytest.mark.parametrize('name', ['vit-tiny_toy_finetune.py',
                                  'vit-tiny_toy_linprobe.py'])
def test_toy_recipes_load_the_toy_pretrain_where_it_writes(name):
    cfg = read_recipe(osp.join(CONFIGS, 'toy', name))
    assert cfg.model.backbone.init_cfg.checkpoint == last_checkpoint(
        'conditional_mae/toy/vit-tiny_two-shot_toy_pretrain.py')


TRANSFER = osp.join(CONFIGS, 'transfer')
# task: (encoder, images a GPU x 8 GPUs, lr, input size, classes), A.1
TRANSFER_RECIPES = {
    'in100_coco_maskrcnn': ('b', 16, 5e-4, None, 80),
    'in100_ade20k_upernet': ('b', 16, 4e-4, 512, 150),
    'in1k_ade20k_upernet': ('b', 16, 4e-4, 512, 150),
    'in100_cifar10': ('b', 512, 1.5e-3, 32, 10),
    'in100_cifar100': ('b', 512, 1.5e-3, 32, 100),
    'in100_tinyimagenet': ('b', 512, 1.5e-3, 64, 200),
    'in100_dtd': ('b', 16, 2.5e-3, 448, 47),
    'in100_flowers102': ('s', 16, 7e-4, 224, 102),
    'in100_cub': ('s', 16, 7e-4, 224, 200),
    'in100_stanford-dogs': ('s', 16, 7e-4, 224, 120),
}


def transfer_name(task, shots):
    return f'vit-{TRANSFER_RECIPES[task][0]}16_L{shots}_{task}.py'


def transfer_config(task, shots):
    return read_recipe(osp.join(TRANSFER, transfer_name(task, shots)))


def test_every_transfer_recipe_has_its_mae_twin():
    assert sorted(
        osp.basename(path)
        for path in glob.glob(osp.join(TRANSFER, '*.py'))) == sorted(
            transfer_name(task, shots) for task in TRANSFER_RECIPES
            for shots in ('0', '0-10'))


@pytest.mark.parametrize('task', sorted(TRANSFER_RECIPES))
def test_transfer_twins_differ_only_in_the_pretrain_they_start_from(task):
    from tests.test_configs import flatten
    data = task.split('_')[0]
    arch = TRANSFER_RECIPES[task][0]
    cmae, mae = (transfer_config(task, shots) for shots in ('0-10', '0'))
    a, b = flatten(cmae.to_dict()), flatten(mae.to_dict())
    assert {key for key in a.keys() | b.keys()
            if a.get(key) != b.get(key)} == {INIT_CHECKPOINT}
    for cfg, shots in ((cmae, '0-10'), (mae, '0')):
        assert cfg.model.backbone.init_cfg.checkpoint == last_checkpoint(
            f'conditional_mae/vit-{arch}16_L{shots}_{data}_pretrain.py')


@pytest.mark.parametrize('task', sorted(TRANSFER_RECIPES))
def test_transfer_recipe_follows_the_paper(task):
    arch, batch, lr, size, classes = TRANSFER_RECIPES[task]
    cfg = transfer_config(task, '0-10')
    backbone, optim = cfg.model.backbone, cfg.optim_wrapper
    assert backbone.arch in (ARCHS[arch], {'b': 'base'}.get(arch))
    assert backbone.patch_size == 16
    assert backbone.init_cfg.prefix == 'backbone.'
    assert cfg.train_dataloader.batch_size * 8 == batch
    assert optim.optimizer.type == 'AdamW' and optim.optimizer.lr == lr
    assert optim.optimizer.weight_decay == 0.05
    assert cfg.auto_scale_lr.base_batch_size == batch
    hooks = [hook.type for hook in cfg.custom_hooks]
    assert 'mmmaskreuse.CheckPretrainedWeightsHook' in hooks
    if task.endswith('coco_maskrcnn'):
        assert optim.paramwise_cfg.layer_decay_rate == 0.75
        assert backbone.drop_path_rate == 0.2
        resize = cfg.train_dataloader.dataset.pipeline[2]
        assert resize.type == 'RandomChoiceResize'
        assert {long for long, _ in resize.scales} == {1333}
        assert [short for _, short in resize.scales] == list(
            range(480, 801, 32))
        # mmdet's 1x, which the paper follows: lr / 10 at [8, 11]
        import mmdet
        mmdet_1x = Config.fromfile(osp.join(
            osp.dirname(mmdet.__file__), '.mim', 'configs', '_base_',
            'schedules', 'schedule_1x.py'))
        assert [{k: v for k, v in step.items() if k != '_scope_'}
                for step in cfg.param_scheduler] == mmdet_1x.param_scheduler
        assert cfg.param_scheduler[1].milestones == [8, 11]
        assert cfg.train_cfg.max_epochs == 12
        assert cfg.model.roi_head.bbox_head.num_classes == classes
    elif task.endswith('upernet'):
        assert optim.paramwise_cfg.layer_decay_rate == 0.65
        assert backbone.drop_path_rate == 0.1
        assert backbone.img_size == size
        assert cfg.crop_size == (size, size)
        assert cfg.train_cfg.max_iters == 160000
        assert cfg.model.decode_head.num_classes == classes
    else:
        assert optim.constructor == 'LearningRateDecayOptimWrapperConstructor'
        assert optim.paramwise_cfg.layer_decay_rate == 0.65
        assert backbone.drop_path_rate == 0.1
        assert backbone.img_size == size
        assert cfg.train_cfg.max_epochs == 100
        assert cfg.model.head.num_classes == classes
        assert cfg.data_preprocessor.num_classes == classes
    if optim.get('constructor') != (
            'LearningRateDecayOptimWrapperConstructor'):
        assert optim.constructor == (
            'mmmaskreuse.BackboneLayerDecayOptimWrapperConstructor')


@pytest.mark.parametrize('name, model, backbone', [
    ('swin-b_simmim_L{}_in1k_pretrain.py', 'MultiShotSimMIM',
     'MultiShotSimMIMSwin'),
    ('convnextv2-b_fcmae_L{}_in1k_pretrain.py', 'FCMAE',
     'MultiShotSparseConvNeXt'),
])
def test_stage_level_pretrain_recipe_matches_its_name(name, model, backbone):
    """The paper's Tab. 6: one shot L(0; 0.6) against two, L(0, 3; 0.6,
    0.1), masking before stage 3; the twins differ in the spec alone."""
    from tests.test_configs import flatten
    one, two = (read_recipe(osp.join(CONFIGS, name.format(shots)))
                for shots in ('0', '0-3'))
    for cfg, spec in ((one, ((0, ), (0.6, ))),
                      (two, ((0, 3), (0.6, 0.1)))):
        assert cfg.model.type == f'mmmaskreuse.{model}'
        assert cfg.model.backbone.type == f'mmmaskreuse.{backbone}'
        assert cfg.model.backbone.arch == 'base'
        assert (tuple(cfg.model.backbone.mask_layers),
                tuple(cfg.model.backbone.mask_ratios)) == spec
    a, b = flatten(one.to_dict()), flatten(two.to_dict())
    assert {key for key in a.keys() | b.keys()
            if a.get(key) != b.get(key)} == {
                'model.backbone.mask_layers', 'model.backbone.mask_ratios'}


def test_fcmae_decays_the_mask_token_as_its_authors_do():
    """The authors' pretraining groups parameters with timm's
    ``add_weight_decay`` and no skip list: 1-D parameters and biases get no
    weight decay, everything else (the decoder's mask token [1, C, 1, 1]
    included) does. Checked on the toy model, which takes the recipe's
    ``paramwise_cfg``."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope

    from mmmaskreuse.engine import build_model
    recipe = read_recipe(
        osp.join(CONFIGS, 'convnextv2-b_fcmae_L0_in1k_pretrain.py'))
    toy = read_recipe(osp.join(
        CONFIGS, 'toy', 'convnextv2-tiny_fcmae_two-shot_toy_pretrain.py'))
    assert toy.optim_wrapper.paramwise_cfg == (
        recipe.optim_wrapper.paramwise_cfg)
    model = build_model(toy)
    with DefaultScope.overwrite_default_scope(toy.default_scope):
        optimizer = build_optim_wrapper(model, toy.optim_wrapper).optimizer
    decay = {id(param): group['weight_decay']
             for group in optimizer.param_groups for param in group['params']}
    named = {name: decay[id(param)]
             for name, param in model.named_parameters()}
    assert named['neck.mask_token'] == 0.05
    assert named['backbone.stages.0.0.pointwise_conv1.weight'] == 0.05
    assert named['backbone.stages.0.0.norm.weight'] == 0.
    biases = [name for name in named if name.endswith('.bias')]
    assert biases and all(named[name] == 0. for name in biases)


CPU = 'conditional_mae/cpu'
CPU_PAIR = (f'{CPU}/vit-mini-p4_L0_cifar10_pretrain.py',
            f'{CPU}/vit-mini-p4_L0-6_cifar10_pretrain.py')


FCMAE_PAIR = (f'{CPU}/convnextv2-mini_fcmae_L0_cifar10_pretrain.py',
              f'{CPU}/convnextv2-mini_fcmae_L0-3_cifar10_pretrain.py')


@pytest.mark.parametrize('pair,second_shot', [
    (CPU_PAIR, ((0, 6), (0.75, 0.1))),
    (FCMAE_PAIR, ((0, 3), (0.6, 0.1))),
])
def test_cpu_cifar10_pretrain_pair_differs_in_the_second_shot_only(
        pair, second_shot):
    """One shot against two: ViT L(0, 6; 0.75, 0.1), the second shot in the
    last quarter of the 8 blocks as L(0, 10) is in ViT-B's 12; FCMAE
    L(0, 3; 0.6, 0.1) as the paper's Tab. 6."""
    one, two = (flatten(read_recipe(name)._cfg_dict.to_dict())
                for name in pair)
    assert {key for key in one.keys() | two.keys()
            if one.get(key) != two.get(key)} == {
                'model.backbone.mask_layers', 'model.backbone.mask_ratios'}
    assert (two['model.backbone.mask_layers'],
            two['model.backbone.mask_ratios']) == second_shot
    assert len(one['model.backbone.mask_layers']) == 1
    assert one['train_dataloader.dataset.data_root'] == 'data/cifar10'


@pytest.mark.parametrize('name,pretrain', [
    ('vit-mini-p4_cifar10_finetune.py', CPU_PAIR[0]),
    ('vit-mini-p4_cifar10_linprobe.py', CPU_PAIR[0]),
    ('convnextv2-mini_cifar10_finetune.py', FCMAE_PAIR[0]),
])
def test_cpu_cifar10_recipes_load_the_one_shot_pretrain_where_it_writes(
        name, pretrain):
    cfg = read_recipe(f'{CPU}/{name}')
    assert cfg.model.backbone.init_cfg.checkpoint == last_checkpoint(
        pretrain)
    assert cfg.test_dataloader.dataset.data_prefix == 'test'
    floor = read_recipe(f'{CPU}/vit-mini-p4_cifar10_scratch.py')
    assert floor.model.backbone.init_cfg.type != 'Pretrained'


def test_cpu_cifar10_one_shot_equals_mmpretrain_mae_at_its_size():
    """The one-shot recipe's model and mmpretrain's MAE built with the same
    encoder, decoder and head settings: the same weights give the same loss
    and the same latent, draw for draw."""
    import torch
    from mmengine.registry import DefaultScope

    from mmmaskreuse.engine import build_model
    cfg = read_recipe(CPU_PAIR[0])
    ours = build_model(cfg)
    ours.init_weights()  # MAE's fixed sin-cos position embedding, not zeros
    upstream = copy.deepcopy(cfg)
    upstream.model.type = 'mmpretrain.MAE'
    backbone = upstream.model.backbone
    backbone.type = 'mmpretrain.MAEViT'
    backbone.mask_ratio = backbone.pop('mask_ratios')[0]
    assert backbone.pop('mask_layers') == (0, )
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        mae = build_model(upstream)
    assert type(mae).__name__ == 'MAE'
    mae.load_state_dict(ours.state_dict(), strict=True)
    ours.train()
    mae.train()
    images = torch.randn(4, 3, 32, 32)
    torch.manual_seed(3)
    expected = mae.loss(images, None)['loss']
    torch.manual_seed(3)
    torch.testing.assert_close(ours.loss(images, None)['loss'], expected)
    torch.manual_seed(3)
    latent, mask, _ = mae.backbone(images)
    torch.manual_seed(3)
    our_latent, our_mask, *_ = ours.backbone(images)
    assert latent.shape == (4, 1 + 16, 128)  # 64 patches, 75 % masked
    torch.testing.assert_close(our_latent, latent)
    assert torch.equal(our_mask, mask)

"""tools/model_converters/strip_reuse.py: the plain upstream model of a
MaskAnyNet checkpoint runs without mmmaskreuse and computes what the
MaskAnyNet model computes with its branch dropped; a checkpoint stripped as
what it did not train as, or without reuse dropout, is refused."""
import json
import subprocess
import sys

import pytest
import torch

from tests.conftest import config, run_tool_here

STRIP = 'model_converters/strip_reuse.py'
DROPOUT = ['model.backbone.fusion=residual',
           'model.backbone.reuse_drop_prob=0.5']
# kind: (config, input shape, --cfg-options that shrink the model)
MODELS = {
    'classifier': ('maskanynet/toy/resnet18_toy_cls.py', (2, 3, 64, 64), {}),
    'mask_rcnn': ('maskanynet/toy/resnet50_coco_maskrcnn_toy.py',
                  (1, 3, 128, 128), {}),
    'upernet': ('maskanynet/toy/resnet50_ade20k_upernet_toy.py',
                (1, 3, 128, 128), {
                    'model.backbone.depth': 18,
                    'model.decode_head.in_channels': [64, 128, 256, 512],
                    'model.decode_head.channels': 32,
                    'model.auxiliary_head.in_channels': 256,
                    'model.auxiliary_head.channels': 16}),
    'vit': ('maskanynet/vit-b16_imagenet.py', (1, 3, 224, 224), {
        'model.backbone.arch': 'deit-tiny',
        'model.head.in_channels': 192}),
    'swin': ('maskanynet/swin-t_imagenet.py', (1, 3, 224, 224), {}),
}
# what the plain model's outputs are: logits, or the detector's features
TENSOR_MODE = ('classifier', 'upernet', 'vit', 'swin')

# Runs in a fresh interpreter: mmengine and the upstream libraries only.
PLAIN_RUN = r'''
import json, sys
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from mmengine.runner import load_checkpoint
for job in json.loads(sys.argv[1]):
    cfg = Config.fromfile(job['config'])  # imports its custom_imports
    model_cfg = cfg.model
    if 'data_preprocessor' in cfg:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(model_cfg).eval()
        load_checkpoint(model, job['checkpoint'], strict=True,
                        logger='silent')
        inputs = torch.load(job['inputs'])
        with torch.no_grad():
            if job['tensor_mode']:
                outputs = [model(inputs, mode='tensor')]
            else:
                outputs = list(model.extract_feat(inputs))
        torch.save(outputs, job['outputs'])
        print(job['kind'], type(model).__name__,
              type(model.backbone).__module__)
assert 'mmmaskreuse' not in sys.modules, 'mmmaskreuse was imported'
print('no mmmaskreuse')
'''


def reference_outputs(model, kind, inputs):
    with torch.no_grad():
        if kind in TENSOR_MODE:
            return [model(inputs, mode='tensor')]
        return list(model.extract_feat(inputs))


@pytest.fixture(scope='module')
def stripped(toy_root, tmp_path_factory):
    """Each model kind: a random-init MaskAnyNet checkpoint (residual
    fusion trained-looking: its last norm away from zero), stripped by the
    tool in this process; the plain models run in one fresh process."""
    from mmmaskreuse.engine import build_model, load_config
    work = tmp_path_factory.mktemp('strip')
    jobs, results = [], {}
    for kind, (name, shape, options) in MODELS.items():
        cfg = load_config(config(name), {
            'model.backbone.fusion': 'residual',
            'model.backbone.reuse_drop_prob': 0.5, **options})
        torch.manual_seed(0)
        model = build_model(cfg).eval()
        torch.nn.init.normal_(
            model.backbone.reuse_fusion.alignment.layers[-1].norm.weight)
        source, out = work / f'{kind}.pth', work / f'{kind}_plain.pth'
        # as mmengine's Runner saves it: the training config in its meta
        torch.save(dict(state_dict=model.state_dict(),
                        meta=dict(cfg=cfg.pretty_text)), source)
        proc = run_tool_here(
            [STRIP, config(name), str(source), str(out),
             '--cfg-options', *DROPOUT,
             *(f'{key}={value}' for key, value in options.items())],
            cwd=toy_root, check=True)
        inputs = torch.randn(*shape)
        torch.save(inputs, work / f'{kind}_inputs.pt')
        model.backbone.reuse_at_test = 'drop'
        dropped = reference_outputs(model, kind, inputs)
        model.backbone.reuse_at_test = 'downsample'
        with_branch = reference_outputs(model, kind, inputs)
        results[kind] = dict(log=proc.stdout, dropped=dropped,
                             with_branch=with_branch,
                             config=(work / f'{kind}_plain.py').read_text())
        jobs.append(dict(kind=kind, tensor_mode=kind in TENSOR_MODE,
                         config=str(work / f'{kind}_plain.py'),
                         checkpoint=str(out),
                         inputs=str(work / f'{kind}_inputs.pt'),
                         outputs=str(work / f'{kind}_outputs.pt')))
    proc = subprocess.run([sys.executable, '-c', PLAIN_RUN, json.dumps(jobs)],
                          cwd=work, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert 'no mmmaskreuse' in proc.stdout
    for job in jobs:
        results[job['kind']]['plain'] = torch.load(job['outputs'])
        results[job['kind']]['plain_log'] = proc.stdout
    return results


@pytest.mark.parametrize('kind,model_type,backbone', [
    ('classifier', 'ImageClassifier', 'resnet'),
    ('mask_rcnn', 'MaskRCNN', 'resnet'),
    ('upernet', 'EncoderDecoder', 'resnet'),
    ('vit', 'ImageClassifier', 'vision_transformer'),
    ('swin', 'ImageClassifier', 'swin_transformer'),
])
def test_plain_model_without_mmmaskreuse_is_the_dropped_branch(
        stripped, kind, model_type, backbone):
    result = stripped[kind]
    assert 'mmmaskreuse' not in result['config']
    assert (f'{kind} {model_type} mmpretrain.models.backbones.{backbone}'
            in result['plain_log'])
    assert 'warning' not in result['log']  # it trained with reuse dropout
    assert len(result['plain']) == len(result['dropped'])
    for plain, dropped, with_branch in zip(result['plain'], result['dropped'],
                                           result['with_branch']):
        assert torch.equal(plain, dropped)
        assert not torch.allclose(plain, with_branch)  # the branch counted


def test_efficientnet_v2_strips_to_mmpretrains_efficientnet_v2(
        tiny_efficientnet_v2):
    """The toy MaskEfficientNetV2 classifier (shrunk to the tiny arch,
    residual fusion trained-looking) stripped: mmpretrain's
    EfficientNetV2 in the plain config, whose model loads the stripped
    weights strictly and computes the dropped branch's logits."""
    from mmmaskreuse.engine import build_model, load_config
    from mmmaskreuse.models import strip_reuse
    cfg = load_config(
        config('maskanynet/toy/efficientnetv2-b0_toy_cls.py'),
        {'model.backbone.fusion': 'residual',
         'model.backbone.reuse_drop_prob': 0.5,
         'model.backbone.arch': tiny_efficientnet_v2,
         'model.head.in_channels': 64})
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    torch.nn.init.normal_(
        model.backbone.reuse_fusion.alignment.layers[-1].norm.weight)
    plain_cfg, checkpoint = strip_reuse(cfg, model.state_dict())
    assert plain_cfg.model.backbone.type == 'mmpretrain.EfficientNetV2'
    assert 'mmmaskreuse' not in plain_cfg.pretty_text
    plain = build_model(plain_cfg).eval()
    plain.load_state_dict(checkpoint['state_dict'], strict=True)
    inputs = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        with_branch = model(inputs, mode='tensor')
        model.backbone.reuse_at_test = 'drop'
        assert torch.equal(plain(inputs, mode='tensor'),
                           model(inputs, mode='tensor'))
        assert not torch.allclose(plain(inputs, mode='tensor'), with_branch)


@pytest.mark.parametrize('fusion,reason', [
    ('concat', 'Feature Alignment Module replaces the stem features'),
    ('image', '3 more input channels'),
    ('decision', "second ResNet's features"),
])
def test_fusions_that_cannot_be_stripped_are_refused(toy_root, tmp_path,
                                                     fusion, reason):
    name = config('maskanynet/toy/resnet18_toy_cls.py')
    proc = run_tool_here(
        [STRIP, name, name, str(tmp_path / 'plain.pth'), '--cfg-options',
         f'model.backbone.fusion={fusion}'], cwd=toy_root)
    assert proc.returncode != 0
    assert f"fusion='{fusion}' cannot be stripped exactly" in proc.stdout
    assert reason in proc.stdout
    assert not (tmp_path / 'plain.pth').exists()


def test_a_vanilla_config_has_nothing_to_strip(toy_root, tmp_path):
    name = config('baselines/toy/resnet18_toy_cls.py')
    proc = run_tool_here([STRIP, name, name, str(tmp_path / 'plain.pth')],
                         cwd=toy_root)
    assert proc.returncode != 0
    assert "got 'ResNet': there is no reuse branch to strip" in proc.stdout


TOY = config('maskanynet/toy/resnet18_toy_cls.py')


@pytest.fixture(scope='module')
def residual_without_dropout(tmp_path_factory):
    """The toy MaskAnyNet classifier with the residual fusion and no reuse
    dropout, as tools/train.py saves it (its training config in meta), and
    the same weights as a bare state dict."""
    from mmmaskreuse.engine import build_model, load_config
    folder = tmp_path_factory.mktemp('residual')
    cfg = load_config(TOY, {'model.backbone.fusion': 'residual'})
    state = build_model(cfg).state_dict()
    paths = dict(saved=folder / 'residual.pth', bare=folder / 'bare.pth')
    torch.save(dict(state_dict=state, meta=dict(cfg=cfg.pretty_text)),
               paths['saved'])
    torch.save(state, paths['bare'])
    return {name: str(path) for name, path in paths.items()}


@pytest.mark.parametrize('trained,options,message', [
    # the documented options on the `make demo` checkpoint (concat)
    ('demo', DROPOUT, "model.backbone.fusion is 'residual' in the config "
     'given (with its --cfg-options), but the checkpoint trained with '
     "fusion='concat' (the config saved in its meta['cfg'])"),
    ('residual', DROPOUT, 'model.backbone.reuse_drop_prob is 0.5 in the '
     'config given (with its --cfg-options), but the checkpoint trained '
     'with reuse_drop_prob=0.0'),
    ('residual', DROPOUT[:1], 'the model trained with reuse_drop_prob=0: it '
     'never ran without its reuse branch'),
])
def test_a_checkpoint_is_stripped_only_as_what_it_trained_as(
        toy_root, tmp_path, trained_classifier, residual_without_dropout,
        trained, options, message):
    checkpoint = (trained_classifier.checkpoint if trained == 'demo' else
                  residual_without_dropout['saved'])
    out = tmp_path / 'plain.pth'
    proc = run_tool_here([STRIP, TOY, checkpoint, str(out), '--cfg-options',
                          *options], cwd=toy_root)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert f'strip_reuse.py: {checkpoint}: strip_reuse: {message}' in \
        proc.stdout
    assert not out.exists() and not (tmp_path / 'plain.py').exists()


def test_force_untrained_drop_strips_with_warnings(toy_root, tmp_path,
                                                   residual_without_dropout):
    """--force-untrained-drop strips the residual model trained without
    dropout, warning; a bare state dict, which holds no training config,
    is stripped as the config says, with a warning that it is unchecked."""
    proc = run_tool_here(
        [STRIP, TOY, residual_without_dropout['saved'],
         str(tmp_path / 'plain.pth'), '--force-untrained-drop',
         '--cfg-options', DROPOUT[0]], cwd=toy_root, check=True)
    assert 'warning: the model trained without reuse dropout' in proc.stdout
    assert 'holds no training config' not in proc.stdout
    assert (tmp_path / 'plain.pth').is_file()
    bare = residual_without_dropout['bare']
    proc = run_tool_here([STRIP, TOY, bare, str(tmp_path / 'bare_plain.pth'),
                          '--cfg-options', *DROPOUT], cwd=toy_root,
                         check=True)
    assert (f"warning: {bare} holds no training config (meta['cfg']): "
            "stripped as CONFIG says (fusion='residual', reuse_drop_prob=0.5"
            '), unchecked') in proc.stdout


# slow tier: three tool runs (about 40 s on a loaded 2-core machine) would
# take the fast tier past its budget
@pytest.mark.slow
def test_convnext_toy_twin_trains_strips_and_tests_through_the_tools(
        toy_root, tmp_path):
    """MaskConvNeXt with reuse dropout: two training iterations with
    tools/train.py, then strip_reuse.py, then tools/test.py on the plain
    ConvNeXt (its config has no mmmaskreuse import); the vanilla twin
    trains through tools/train.py too."""
    name = config('maskanynet/toy/convnext-atto_toy_cls.py')
    work = tmp_path / 'work'
    short = ['train_cfg.max_epochs=1', 'train_dataloader.batch_size=4',
             'train_dataloader.dataset.indices=8',
             'train_dataloader.num_workers=0',
             'train_dataloader.persistent_workers=False']
    twin = config('baselines/toy/convnext-atto_toy_cls.py')
    run_tool_here(['train.py', twin, '--work-dir', str(tmp_path / 'twin'),
                   '--cfg-options', *short, 'train_cfg.val_interval=2'],
                  cwd=toy_root, check=True)
    assert (tmp_path / 'twin' / 'epoch_1.pth').is_file()
    run_tool_here(['train.py', name, '--work-dir', str(work), '--cfg-options',
                   *short, *DROPOUT, 'train_cfg.val_interval=2'],
                  cwd=toy_root, check=True)
    proc = run_tool_here(
        [STRIP, name, str(work / 'epoch_1.pth'), str(tmp_path / 'plain.pth'),
         '--cfg-options', *DROPOUT], cwd=toy_root, check=True)
    assert 'warning' not in proc.stdout
    plain = (tmp_path / 'plain.py').read_text()
    assert "type='mmpretrain.ConvNeXt'" in plain
    assert 'mmmaskreuse' not in plain
    proc = run_tool_here(
        ['test.py', str(tmp_path / 'plain.py'), str(tmp_path / 'plain.pth'),
         '--work-dir', str(tmp_path / 'test'), '--cfg-options',
         'test_dataloader.dataset.indices=8', 'test_dataloader.num_workers=0',
         'test_dataloader.persistent_workers=False'],
        cwd=toy_root, check=True)
    assert 'accuracy/top1' in proc.stdout

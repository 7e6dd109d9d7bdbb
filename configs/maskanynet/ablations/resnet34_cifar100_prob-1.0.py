# Protocol ablation: every sample masked; no sample is left unmasked, so
# the pipeline makes no AutoAugment copy.
_base_ = '../resnet34_cifar100.py'
data_preprocessor = dict(prob=1.0, reuse_view='downsample')
train_dataloader = dict(dataset=dict(
    pipeline=_base_.train_dataloader.dataset.pipeline[:-1]))

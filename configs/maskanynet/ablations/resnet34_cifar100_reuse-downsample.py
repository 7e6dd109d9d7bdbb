# Protocol ablation: unmasked samples' reuse branch sees the downsampled
# image (as at test time), not the authors' AutoAugment copy.
_base_ = '../resnet34_cifar100.py'
data_preprocessor = dict(reuse_view='downsample')
train_dataloader = dict(dataset=dict(
    pipeline=_base_.train_dataloader.dataset.pipeline[:-1]))

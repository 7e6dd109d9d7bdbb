# Control arm of the CPU CIFAR-10 A/B: the vanilla twin with the AutoAugment
# (CIFAR-10 policy) that the authors' protocol shows its reuse branch, here
# on the primary image of 80 % of the samples. It separates "more
# augmentation" from "the reuse branch".
_base_ = '../cpu/resnet18-w16_cifar10.py'

# after the crop and flip, as AutoAugmentReuseView; before PackInputs
train_dataloader = dict(dataset=dict(
    pipeline=_base_.train_dataloader.dataset.pipeline[:-1] + [
        dict(type='RandomApply', prob=0.8,
             transforms=[dict(type='mmmaskreuse.AutoAugmentImage')]),
        dict(type='PackInputs'),
    ]))

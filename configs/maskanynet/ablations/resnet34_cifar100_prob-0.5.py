# Protocol ablation: half the samples masked (the authors mask 20 %).
_base_ = '../resnet34_cifar100.py'
data_preprocessor = dict(prob=0.5)

# vit-b16_L0-10_in100_cifar10.py on CIFAR-100 (data/cifar100/
# cifar-100-python): same 32 x 32 inputs, batch 512, lr 1.5e-3.
_base_ = './vit-b16_L0-10_in100_cifar10.py'

num_classes = 100
model = dict(head=dict(num_classes=num_classes))
data_preprocessor = dict(num_classes=num_classes)
cifar = dict(type='CIFAR100', data_root='data/cifar100')
train_dataloader = dict(dataset=cifar)
val_dataloader = dict(dataset=cifar)
test_dataloader = val_dataloader

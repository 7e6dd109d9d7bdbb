# vit-s16_L0-10_in100_flowers102.py on Stanford Dogs (120 breeds), which
# mmpretrain has no dataset class for: class folders
# data/stanford_dogs/{train,test}/<breed>/*.jpg, laid out from the official
# Images/ and lists/{train,test}_list.mat by
# `python tools/misc/prepare_stanford_dogs.py data/stanford_dogs`.
_base_ = './vit-s16_L0-10_in100_flowers102.py'

num_classes = 120
model = dict(head=dict(num_classes=num_classes))
data_preprocessor = dict(num_classes=num_classes)
dogs = dict(type='CustomDataset', data_root='data/stanford_dogs')
train_dataloader = dict(
    dataset=dict(_delete_=True, data_prefix='train',
                 pipeline={{_base_.train_pipeline}}, **dogs))
val_dataloader = dict(
    dataset=dict(_delete_=True, data_prefix='test',
                 pipeline={{_base_.test_pipeline}}, **dogs))
test_dataloader = val_dataloader

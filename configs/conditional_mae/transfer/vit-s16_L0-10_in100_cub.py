# vit-s16_L0-10_in100_flowers102.py on CUB-200-2011 (200 birds; mmpretrain's
# CUB: data/CUB_200_2011/{images,images.txt,image_class_labels.txt,
# train_test_split.txt}, its train split against its test split).
_base_ = './vit-s16_L0-10_in100_flowers102.py'

num_classes = 200
model = dict(head=dict(num_classes=num_classes))
data_preprocessor = dict(num_classes=num_classes)
cub = dict(type='CUB', data_root='data/CUB_200_2011')
train_dataloader = dict(dataset=dict(split='train', **cub))
val_dataloader = dict(dataset=dict(split='test', **cub))
test_dataloader = val_dataloader

# Fine-grained transfer (the paper's Tab. 2 / Tab. 8, A.1 "part
# classification"): fine-tune the Conditional MAE ViT-S/16 of
# ../vit-s16_L0-10_in100_pretrain.py on Oxford Flowers-102 with the recipe of
# ../vit-s16_in100_finetune.py (224 x 224, its augmentations) at batch 16
# (8 GPUs x 2) and lr 7e-4 at that batch; the paper's other lr:
# --cfg-options optim_wrapper.optimizer.lr=8e-4. mmpretrain's Flowers102:
# data/flowers102/{jpg,imagelabels.mat,setid.mat}, train + val against test.
# Another encoder: model.backbone.init_cfg.checkpoint=PATH
_base_ = '../vit-s16_in100_finetune.py'

num_classes = 102
model = dict(head=dict(num_classes=num_classes))
data_preprocessor = dict(num_classes=num_classes)

flowers = dict(type='Flowers102', data_root='data/flowers102')
train_dataloader = dict(
    batch_size=2,
    dataset=dict(_delete_=True, split='trainval',
                 pipeline={{_base_.train_pipeline}}, **flowers))
val_dataloader = dict(
    batch_size=16,
    dataset=dict(_delete_=True, split='test',
                 pipeline={{_base_.test_pipeline}}, **flowers))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=7e-4))
auto_scale_lr = dict(base_batch_size=16)

# Parameters of a ViT that get no weight decay in a fine-tune, as in
# mmpretrain's MAE fine-tune recipe: norms, biases, cls token, position
# embedding. Use as paramwise_cfg=dict(custom_keys={{_base_.vit_no_decay}}).
vit_no_decay = {
    '.ln': dict(decay_mult=0.0),
    '.bias': dict(decay_mult=0.0),
    '.cls_token': dict(decay_mult=0.0),
    '.pos_embed': dict(decay_mult=0.0)
}

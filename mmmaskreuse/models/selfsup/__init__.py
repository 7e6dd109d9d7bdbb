from .conditional_mae import ConditionalMAE

__all__ = ['ConditionalMAE']

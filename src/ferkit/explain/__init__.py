"""Explanations: Grad-CAM / saliency heatmaps per face, rendered as PNG panels.

>>> from ferkit.explain import EXPLAINERS
>>> EXPLAINERS.names()
['gradcam', 'saliency']
"""

from ferkit.explain.gradcam import EXPLAINERS, Explanation, explain_crop, gradcam, saliency
from ferkit.explain.render import overlay, save_panel
from ferkit.explain.run import FaceExplanation, explain_images

__all__ = ["EXPLAINERS", "Explanation", "FaceExplanation", "explain_crop", "explain_images",
           "gradcam", "overlay", "saliency", "save_panel"]

"""Look inside a trained model: its filters, its feature maps, which pixels made it decide, and
which digits it gets wrong. Arrays in, arrays out (NumPy only); any ``nn.Module`` classifier.

    import convscope.inspect as ci
    ci.filters(model, "conv1")                         (F, C, kH, kW) weights
    ci.feature_maps(model, x)                          {layer: (N, C, H, W) or (N, features)}
    ci.saliency(model, x, target=7)                    |d y_7 / d x|, x's shape
    ci.input_x_gradient(model, x, 7)                   x * d y_7 / d x
    ci.integrated_gradients(model, x, 7, steps=50)     (attributions, delta)
    ci.grad_cam(model, x, 7, layer="conv2")            (cam (N,1,h,w), upsampled (N,1,H,W), ...)
    ci.occlusion(model, x, 7, window=4, stride=2)      mean logit drop per pixel, x's shape
    ci.confusion_matrix(model, test)                   (K, K) counts, [true, predicted]
    ci.mistakes(model, test, k=16)                     the surest wrong predictions

x is (N, C, H, W), or one image (C, H, W), as the model takes it (normalised); ``target`` is a
class index (or one per image; None: the predicted class). Every attribution equals Captum's
(0.9.0) on the same model: Saliency, InputXGradient, IntegratedGradients (same step rules and
convergence delta), LayerGradCam and Occlusion. Each gradient method is one batched forward and
backward pass of the engine (parameters frozen, eval mode; both restored afterwards); the
``*_figure`` functions draw them with matplotlib as PNG bytes.
"""

from .figures import attribution_figure, filters_figure, maps_figure
from .gradcam import GradCAM, grad_cam, interpolate
from .gradients import input_x_gradient, saliency
from .integrated import METHODS, IGResult, integrated_gradients, quadrature
from .layers import feature_maps, filters
from .occlusion import occlusion
from .predictions import Mistakes, Predictions, confusion_matrix, mistakes, predict
from .tables import confusion_figure, mistakes_figure

__all__ = [
    "filters",
    "feature_maps",
    "saliency",
    "input_x_gradient",
    "integrated_gradients",
    "quadrature",
    "METHODS",
    "IGResult",
    "grad_cam",
    "GradCAM",
    "interpolate",
    "occlusion",
    "predict",
    "Predictions",
    "confusion_matrix",
    "mistakes",
    "Mistakes",
    "filters_figure",
    "maps_figure",
    "attribution_figure",
    "confusion_figure",
    "mistakes_figure",
]

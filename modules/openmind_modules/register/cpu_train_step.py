"""A MindFormers train wrapper for the CPU: ``MFTrainOneStepCell`` with an overflow check the CPU can run.

``datagen train plan --device cpu`` copies this file to ``RUN_DIR/register/cpu_train_step.py`` and
names it in each stage yaml (``runner_wrapper: {type: CpuTrainOneStepCell, auto_register:
cpu_train_step.CpuTrainOneStepCell}``); MindFormers registers it itself from ``$REGISTER_PATH``
(what ``run_mindformer.py --register_path`` sets), which the stage's ``launch.sh`` exports.

Why: ``MFTrainOneStepCell`` (via MindSpore's ``TrainOneStepWithLossScaleCell``) reads the Ascend
float status (``NPUGetFloatStatusV2``) on any target that is neither GPU nor an Ascend 910B, and
MindSpore 2.9 has no CPU kernel for it (nor for the GPU's ``FloatStatus``).  This subclass checks
the gradients with ``IsFinite`` instead: the check an Ascend 910B runs in its default INFNAN mode.
Everything else (loss scale 1.0, gradient clipping, the outputs ``MFLossMonitor`` reads) is
MindFormers' own.
"""

from mindformers.tools.register import MindFormerModuleType, MindFormerRegister
from mindformers.wrapper import MFTrainOneStepCell
from mindspore.nn.wrap.loss_scale import _ascend_grad_overflow


@MindFormerRegister.register(MindFormerModuleType.WRAPPER)
class CpuTrainOneStepCell(MFTrainOneStepCell):
    """``MFTrainOneStepCell`` whose overflow status is ``IsFinite`` of the gradients."""

    def get_overflow_status(self, status, compute_output):
        return self._get_distributed_overflow_status_on_infnan_mode(_ascend_grad_overflow, compute_output)

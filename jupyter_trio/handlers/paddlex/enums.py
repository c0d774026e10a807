"""PaddleX's status enums, numbered as PaddleX's RESTful server numbered them (see shared/spec).

The core speaks the native names of ``vocabulary.py`` (a dataset is ``"split"``, not ``XSPLITED``);
the PaddleX dialect translates them with the maps below and sends PaddleX's integers.
"""

from __future__ import annotations

from enum import IntEnum

from ...vocabulary import PROJECT_TYPES

DatasetStatus = IntEnum(
    "DatasetStatus", "XEMPTY XCHECKING XCHECKFAIL XCOPYING XCOPYDONE XCOPYFAIL XSPLITED", start=0
)
TaskStatus = IntEnum(
    "TaskStatus",
    "XUNINIT XINIT XDOWNLOADING XTRAINING XTRAINDONE XEVALUATED XEXPORTING XEXPORTED XTRAINEXIT "
    "XDOWNLOADFAIL XTRAINFAIL XEVALUATING XEVALUATEFAIL XEXPORTFAIL XPRUNEING XPRUNETRAIN",
    start=0,
)
ProjectType = IntEnum("ProjectType", " ".join(PROJECT_TYPES), start=0)
DownloadStatus = IntEnum(
    "DownloadStatus", "XDDOWNLOADING XDDOWNLOADFAIL XDDOWNLOADDONE XDDECOMPRESSED", start=0
)
PredictStatus = IntEnum("PredictStatus", "XPRESTART XPREDONE XPREFAIL", start=0)
PruneStatus = IntEnum("PruneStatus", "XSPRUNESTART XSPRUNEING XSPRUNEDONE XSPRUNEFAIL XSPRUNEEXIT", start=0)
PretrainedModelStatus = IntEnum("PretrainedModelStatus", "XPINIT XPSAVING XPSAVEFAIL XPSAVEDONE", start=0)
ExportedModelType = IntEnum(
    "ExportedModelType",
    "XQUANTMOBILE XPRUNEMOBILE XTRAINMOBILE XQUANTSERVER XPRUNESERVER XTRAINSERVER",
    start=0,
)

# native state name → PaddleX's status (the PaddleX dialect's translation tables)
DATASET_STATUS = {
    "empty": DatasetStatus.XEMPTY,
    "checking": DatasetStatus.XCHECKING,
    "check_failed": DatasetStatus.XCHECKFAIL,
    "copying": DatasetStatus.XCOPYING,
    "copy_failed": DatasetStatus.XCOPYFAIL,
    "imported": DatasetStatus.XCOPYDONE,
    "split": DatasetStatus.XSPLITED,
}
DEMO_STATUS = {
    "generating": DownloadStatus.XDDOWNLOADING,
    "generated": DownloadStatus.XDDOWNLOADDONE,
    "ready": DownloadStatus.XDDECOMPRESSED,
    "failed": DownloadStatus.XDDOWNLOADFAIL,
}
WEIGHTS_STATUS = {
    "saving": PretrainedModelStatus.XPSAVING,
    "save_failed": PretrainedModelStatus.XPSAVEFAIL,
    "saved": PretrainedModelStatus.XPSAVEDONE,
}

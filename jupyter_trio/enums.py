"""PaddleX's status enums, numbered as PaddleX's RESTful server numbered them (see shared/spec).

The store keeps names (``"XEMPTY"``); the PaddleX dialect sends and accepts the integers.
"""

from __future__ import annotations

from enum import IntEnum

DatasetStatus = IntEnum("DatasetStatus", "XEMPTY XCHECKING XCHECKFAIL XCOPYING XCOPYDONE XCOPYFAIL XSPLITED", start=0)
TaskStatus = IntEnum(
    "TaskStatus",
    "XUNINIT XINIT XDOWNLOADING XTRAINING XTRAINDONE XEVALUATED XEXPORTING XEXPORTED XTRAINEXIT XDOWNLOADFAIL "
    "XTRAINFAIL XEVALUATING XEVALUATEFAIL XEXPORTFAIL XPRUNEING XPRUNETRAIN",
    start=0,
)
ProjectType = IntEnum(
    "ProjectType", "classification detection segmentation instance_segmentation remote_segmentation", start=0
)
DownloadStatus = IntEnum("DownloadStatus", "XDDOWNLOADING XDDOWNLOADFAIL XDDOWNLOADDONE XDDECOMPRESSED", start=0)
PredictStatus = IntEnum("PredictStatus", "XPRESTART XPREDONE XPREFAIL", start=0)
PruneStatus = IntEnum("PruneStatus", "XSPRUNESTART XSPRUNEING XSPRUNEDONE XSPRUNEFAIL XSPRUNEEXIT", start=0)
PretrainedModelStatus = IntEnum("PretrainedModelStatus", "XPINIT XPSAVING XPSAVEFAIL XPSAVEDONE", start=0)
ExportedModelType = IntEnum(
    "ExportedModelType", "XQUANTMOBILE XPRUNEMOBILE XTRAINMOBILE XQUANTSERVER XPRUNESERVER XTRAINSERVER", start=0
)

# The task types datasets and projects can have (remote_segmentation is PaddleX's, not trained here).
DATASET_TYPES = ("classification", "detection", "segmentation", "instance_segmentation")


def project_type(value: int | str) -> str:
    """A project type given as PaddleX's integer or as its name → the name; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"unknown project type {value!r}")
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        try:
            return ProjectType(int(value)).name
        except ValueError:
            raise ValueError(f"unknown project type {value!r}") from None
    if value in ProjectType.__members__:
        return value
    raise ValueError(f"unknown project type {value!r}; one of {', '.join(ProjectType.__members__)}")

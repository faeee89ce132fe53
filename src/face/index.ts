/** sacl-au/face: AU detection on ordinary pictures: faces, landmarks, alignment, predictions. */
export { decodeImage, isImageFile, IMAGE_EXTENSIONS, type RgbImage } from './image.js';
export { DETECTORS, detectFaces, landmarksInBoxes, faceApiModelDir, type DetectOptions, type DetectedFace, type DetectorName } from './detect.js';
export { IBUG68_FOR_49, NUM_LANDMARKS_68, landmarks68To49 } from './landmarks68.js';
export { alignFace, modelInput, predictAligned, predictDetected, predictFaces, type AlignedFace, type FacePrediction } from './predict.js';
export { LANDMARK_GROUPS, NUM_LANDMARKS } from './landmarks.js';
export { VIDEO_EXTENSIONS, VideoWriter, isVideoFile, probeVideo, videoFrames, type VideoFrame, type VideoInfo } from './video.js';
export { FaceTracker, iou, type Box } from './track.js';
export { auColumn, csvHeader, csvRow, jsonRow, type FaceRow } from './openface.js';
export { DEFAULT_DETECT_EVERY, FaceFollower, type FollowOptions } from './follow.js';
export { overlaySvg, renderOverlay, roiQuads, writeOverlay, type RoiGeometry } from './overlay.js';

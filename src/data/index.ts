export { featureSize, exampleIds, type Dataset, type DataSplit } from './dataset.js';
export { parseIdx, readIdx, encodeIdx, idxTypeCode, type IdxArray, type IdxData, type IdxType } from './idx.js';
export { parseNpy, readNpy, encodeNpy, type NpyArray } from './npy.js';
export { parseCsv, readCsv, type CsvTable } from './csv.js';
export { toUnitFloat, toLabels, MAX_CLASSES, type RawArray } from './convert.js';
export { readFileBytes, isGzip } from './files.js';
export {
  loadMnistDir,
  loadBuiltinMnist,
  builtinMnistDir,
  findIdxFile,
  isMnistDir,
  MNIST_FILES,
  type LoadOptions,
} from './mnist.js';
export { loadData, openData, openTransfer, isImageData, reshape, NPY_FILES, CSV_FILES, type DataOptions, type OpenDataOptions, type TransferData } from './load.js';
export { loadImageTree, loadUnlabeledImages, listImageTree, IMAGE_EXTENSIONS, DEFAULT_IMAGE_CACHE_DIR, type ImageOptions } from './images.js';
export { jitterBatch, shiftImage, imageDims } from './augment.js';
export {
  classCounts,
  omitClasses,
  keepClasses,
  stratifiedFraction,
  subset,
  splitHoldout,
  holdoutSplit,
  type HoldoutSplit,
} from './subset.js';
export { datasetHash } from './hash.js';

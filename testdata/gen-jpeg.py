#!/usr/bin/python3
# gen-jpeg.py: JPEG fixtures for tests/test_image.c and tests/extract.t,
# encoded and decoded once by Pillow (independent of rq's jpeg.c).
# Regenerate from the repo root with
#   /usr/bin/python3 testdata/gen-jpeg.py
# (Debian python3-pil 9.4 on libjpeg62-turbo 2.1.5).  Files written:
#   testdata/frame.jpg       RGB 12 wide x 9 high, baseline, quality 90
#   testdata/frame-gray.jpg  gray 12 x 9, progressive, quality 90
#   testdata/frame-cmyk.jpg  the RGB frame as CMYK (refused by rq)
#   testdata/frame-jpeg.txt  Pillow's decoded bytes: frame.jpg then
#                            frame-gray.jpg, planar [c][y][x], one a line
import numpy as np
from PIL import Image

h, w = 9, 12
y, x = np.mgrid[0:h, 0:w]
r = (20 * x + 5 * y) % 256
g = (255 - 18 * y - 3 * x) % 256
b = (40 + 7 * x * y) % 256
rgb = np.stack([r, g, b], -1).astype(np.uint8)
Image.fromarray(rgb).save('testdata/frame.jpg', quality=90)
Image.fromarray(rgb).convert('CMYK').save('testdata/frame-cmyk.jpg',
                                         quality=90)
gray = ((x * 21 + y * 9) % 256).astype(np.uint8)
Image.fromarray(gray).save('testdata/frame-gray.jpg', quality=90,
                           progressive=True)
a = np.asarray(Image.open('testdata/frame.jpg').convert('RGB'))
q = np.asarray(Image.open('testdata/frame-gray.jpg'))
with open('testdata/frame-jpeg.txt', 'w') as f:
    f.write('# Pillow decode: frame.jpg [3,9,12] then frame-gray.jpg '
            '[1,9,12]\n')
    for v in np.concatenate([a.transpose(2, 0, 1).ravel(), q.ravel()]):
        f.write('%d\n' % v)

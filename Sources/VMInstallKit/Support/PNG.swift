/// PNG files from PPM (P6) images, for screens that come as PPM (libvirt's screenshots of
/// QEMU): 8-bit RGB rows in uncompressed ("stored") deflate blocks. Large, but plain and
/// correct; every PNG reader takes it.
enum PNG {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// nil when `ppm` is not a binary 8-bit PPM.
    static func fromPPM(_ ppm: [UInt8]) -> [UInt8]? {
        // Header: P6, width, height, maxval, separated by whitespace (and # comments), then one
        // whitespace byte before the pixels.
        var fields: [Int] = []
        var i = 2
        guard ppm.starts(with: Array("P6".utf8)) else { return nil }
        while fields.count < 3, i < ppm.count {
            let c = ppm[i]
            if c == UInt8(ascii: "#") {
                while i < ppm.count, ppm[i] != 0x0A { i += 1 }
            } else if c >= 0x30, c <= 0x39 {
                var n = 0
                while i < ppm.count, ppm[i] >= 0x30, ppm[i] <= 0x39, n < 1 << 20 {
                    n = n * 10 + Int(ppm[i] - 0x30)
                    i += 1
                }
                fields.append(n)
                continue
            }
            i += 1
        }
        i += 1
        guard fields.count == 3, fields[2] == 255, fields[0] > 0, fields[1] > 0 else { return nil }
        let (width, height) = (fields[0], fields[1])
        let row = width * 3
        guard ppm.count - i >= row * height else { return nil }
        var raw: [UInt8] = []
        raw.reserveCapacity((row + 1) * height)
        for y in 0..<height {
            raw.append(0)  // filter: none
            raw += ppm[(i + y * row)..<(i + (y + 1) * row)]
        }
        var out = signature
        var header: [UInt8] = []
        header += bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 2, 0, 0, 0]
        out += chunk("IHDR", header)
        out += chunk("IDAT", zlibStored(raw))
        out += chunk("IEND", [])
        return out
    }

    private static func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
    }

    private static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return bigEndian(UInt32(data.count)) + body + bigEndian(crc32(body))
    }

    private static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let n = min(65_535, data.count - offset)
            let final: UInt8 = offset + n == data.count ? 1 : 0
            out += [final, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[offset..<(offset + n)]
            offset += n
        } while offset < data.count
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        return out + bigEndian(b << 16 | a)
    }

    private static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in data { c = crcTable[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}

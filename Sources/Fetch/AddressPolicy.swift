#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which resolved addresses may be contacted when private addresses are not allowed.
package enum AddressPolicy {
    /// Whether an IPv4 or IPv6 address is globally routable unicast: not loopback, private, shared (CGNAT),
    /// link-local, multicast, unspecified, broadcast, documentation or otherwise reserved.
    /// - Parameter bytes: 4 (IPv4) or 16 (IPv6) address bytes in network order.
    /// - Returns: false for any other length.
    package static func isPublic(address bytes: [UInt8]) -> Bool {
        switch bytes.count {
        case 4: return Self.isPublicIPv4(bytes[0], bytes[1], bytes[2])
        case 16: return Self.isPublicIPv6(bytes)
        default: return false
        }
    }

    /// The same check on a `sockaddr_in` / `sockaddr_in6` as libcurl hands it over.
    /// - Parameter raw: the socket address bytes.
    /// - Returns: false for other families and short buffers.
    static func isPublic(sockaddr raw: UnsafeRawBufferPointer) -> Bool {
        guard raw.count >= 2 else { return false }
        let family = raw.loadUnaligned(as: sa_family_t.self)
        if Int32(family) == AF_INET, raw.count >= MemoryLayout<sockaddr_in>.size {
            let address = raw.loadUnaligned(as: sockaddr_in.self)
            return withUnsafeBytes(of: address.sin_addr) { Self.isPublic(address: Array($0)) }
        }
        if Int32(family) == AF_INET6, raw.count >= MemoryLayout<sockaddr_in6>.size {
            let address = raw.loadUnaligned(as: sockaddr_in6.self)
            return withUnsafeBytes(of: address.sin6_addr) { Self.isPublic(address: Array($0)) }
        }
        return false
    }

    /// The IP bytes and port of a `sockaddr_in` / `sockaddr_in6`; nil for other families and short buffers.
    static func socketAddress(_ raw: UnsafeRawBufferPointer) -> SocketAddress? {
        guard raw.count >= 2 else { return nil }
        let family = raw.loadUnaligned(as: sa_family_t.self)
        if Int32(family) == AF_INET, raw.count >= MemoryLayout<sockaddr_in>.size {
            let address = raw.loadUnaligned(as: sockaddr_in.self)
            let bytes = withUnsafeBytes(of: address.sin_addr) { Array($0) }
            return SocketAddress(address: bytes, port: UInt16(bigEndian: address.sin_port))
        }
        if Int32(family) == AF_INET6, raw.count >= MemoryLayout<sockaddr_in6>.size {
            let address = raw.loadUnaligned(as: sockaddr_in6.self)
            let bytes = withUnsafeBytes(of: address.sin6_addr) { Array($0) }
            return SocketAddress(address: bytes, port: UInt16(bigEndian: address.sin6_port))
        }
        return nil
    }

    private static func isPublicIPv4(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> Bool {
        switch a {
        case 0, 10, 127: return false  // "this network", private, loopback
        case 100 where (64...127).contains(b): return false  // shared address space (CGNAT)
        case 169 where b == 254: return false  // link-local
        case 172 where (16...31).contains(b): return false  // private
        case 192 where b == 168: return false  // private
        case 192 where b == 0 && (c == 0 || c == 2): return false  // IETF protocol assignments, TEST-NET-1
        case 198 where b == 18 || b == 19: return false  // benchmarking
        case 198 where b == 51 && c == 100, 203 where b == 0 && c == 113: return false  // TEST-NET-2/3
        case 224...255: return false  // multicast, reserved, broadcast
        default: return true
        }
    }

    private static func isPublicIPv6(_ bytes: [UInt8]) -> Bool {
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
            return Self.isPublicIPv4(bytes[12], bytes[13], bytes[14])  // IPv4-mapped
        }
        if bytes[0..<12].allSatisfy({ $0 == 0 }) { return false }  // ::, ::1, deprecated IPv4-compatible
        if bytes[0] == 0x00 && bytes[1] == 0x64 && bytes[2] == 0xff && bytes[3] == 0x9b {
            return Self.isPublicIPv4(bytes[12], bytes[13], bytes[14])  // NAT64 well-known prefix
        }
        if bytes[0] == 0xff { return false }  // multicast
        if bytes[0] & 0xfe == 0xfc { return false }  // unique local fc00::/7
        if bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80 { return false }  // link-local fe80::/10
        if bytes[0] == 0xfe && bytes[1] & 0xc0 == 0xc0 { return false }  // site-local (deprecated) fec0::/10
        if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0d && bytes[3] == 0xb8 { return false }  // docs
        return true
    }
}

import DistroFixtures
import Foundation
import Testing

@testable import Distro

@Suite struct GpgvTests {
    let release = Array("Origin: Debian\nSuite: stable\nCodename: bookworm\n- a line with a dash\nSHA256:\n".utf8)

    @Test func goodInlineSignatureReturnsTheSignedTextOnly() async throws {
        let key = try TestKeyring()
        let signed = try key.clearsign(release)
        let check = try await Gpgv().verifyInline(signed, keyring: key.keyringPath)
        #expect(check.content == release)
        #expect(check.fingerprint == key.fingerprint)
        #expect(check.keyID == key.keyID)
        let signedAt = try #require(check.signedAt)
        #expect(abs(signedAt.timeIntervalSinceNow) < 600)
    }

    @Test func armoredKeyringIsDearmored() async throws {
        let key = try TestKeyring()
        let check = try await Gpgv().verifyInline(try key.clearsign(release), keyring: key.armoredKeyringPath)
        #expect(check.fingerprint == key.fingerprint)
    }

    @Test(arguments: [false, true])
    func goodDetachedSignature(armor: Bool) async throws {
        let key = try TestKeyring()
        let signature = try key.detachSign(release, armor: armor)
        let check = try await Gpgv().verifyDetached(release, signature: signature, keyring: key.keyringPath)
        #expect(check.content == release)
        #expect(check.fingerprint == key.fingerprint)
    }

    @Test func tamperedInlineTextIsABadSignature() async throws {
        let key = try TestKeyring()
        var signed = try key.clearsign(release)
        let text = String(decoding: signed, as: UTF8.self)
        let range = try #require(text.range(of: "bookworm"))
        let offset = text.utf8.distance(from: text.startIndex, to: range.lowerBound)
        signed[offset] = UInt8(ascii: "B")
        let error = await signatureError { try await Gpgv().verifyInline(signed, keyring: key.keyringPath) }
        #expect(error == .badSignature("BADSIG \(key.keyID)"))
    }

    @Test func tamperedDetachedDataIsABadSignature() async throws {
        let key = try TestKeyring()
        let signature = try key.detachSign(release, armor: false)
        var data = release
        data[0] = UInt8(ascii: "X")
        let error = await signatureError {
            try await Gpgv().verifyDetached(data, signature: signature, keyring: key.keyringPath)
        }
        #expect(error == .badSignature("BADSIG \(key.keyID)"))
    }

    @Test func textOutsideTheArmorIsNotInTheContent() async throws {
        let key = try TestKeyring()
        let signed = try key.clearsign(release)
        let hostile =
            Array("Origin: Evil\nSHA256:\n deadbeef 1 main/binary-amd64/Packages\n".utf8) + signed
            + Array("\nSHA256:\n cafe 2 evil\n".utf8)
        let check = try await Gpgv().verifyInline(hostile, keyring: key.keyringPath)
        #expect(check.content == release)
        #expect(!String(decoding: check.content, as: UTF8.self).contains("Evil"))
    }

    @Test func twoSignedMessagesInOneFileAreRefused() async throws {
        let key = try TestKeyring()
        let signed = try key.clearsign(release) + (try key.clearsign(Array("Origin: Other\n".utf8)))
        let error = await signatureError { try await Gpgv().verifyInline(signed, keyring: key.keyringPath) }
        guard case .failed = error else {
            Issue.record("expected failed, got \(String(describing: error))")
            return
        }
    }

    @Test func wrongKeyringIsAnUnknownKey() async throws {
        let key = try TestKeyring()
        let other = try TestKeyring(name: "Other Key")
        let signed = try key.clearsign(release)
        let error = await signatureError { try await Gpgv().verifyInline(signed, keyring: other.keyringPath) }
        #expect(error == .unknownKey(key.keyID))
        let detached = try key.detachSign(release, armor: true)
        let detachedError = await signatureError {
            try await Gpgv().verifyDetached(release, signature: detached, keyring: other.keyringPath)
        }
        #expect(detachedError == .unknownKey(key.keyID))
    }

    @Test func garbageIsNotSigned() async throws {
        let key = try TestKeyring()
        let garbage = Array("Origin: Debian\nno signature here\n".utf8)
        #expect(await signatureError { try await Gpgv().verifyInline(garbage, keyring: key.keyringPath) } == .notSigned)
        let detached = await signatureError {
            try await Gpgv().verifyDetached(self.release, signature: garbage, keyring: key.keyringPath)
        }
        #expect(detached == .notSigned)
        let fakeArmor = Array(
            "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nhi\n-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n"
                .utf8)
        let broken = await signatureError { try await Gpgv().verifyInline(fakeArmor, keyring: key.keyringPath) }
        #expect(broken == .notSigned || { if case .failed = broken { true } else { false } }())
    }

    @Test func missingOrEmptyKeyringIsUnreadable() async throws {
        let key = try TestKeyring()
        let signed = try key.clearsign(release)
        let missing = await signatureError {
            try await Gpgv().verifyInline(signed, keyring: "/nonexistent/keyring.gpg")
        }
        guard case .keyringUnreadable = missing else {
            Issue.record("expected keyringUnreadable, got \(String(describing: missing))")
            return
        }
        let empty = key.home.appendingPathComponent("empty.gpg")
        try Data().write(to: empty)
        let emptyError = await signatureError { try await Gpgv().verifyInline(signed, keyring: empty.path) }
        guard case .keyringUnreadable = emptyError else {
            Issue.record("expected keyringUnreadable, got \(String(describing: emptyError))")
            return
        }
    }

    @Test func missingGpgvIsUnavailable() async throws {
        let key = try TestKeyring()
        let signed = try key.clearsign(release)
        let error = await signatureError {
            try await Gpgv(executable: "/nonexistent/gpgv").verifyInline(signed, keyring: key.keyringPath)
        }
        guard case .gpgvUnavailable = error else {
            Issue.record("expected gpgvUnavailable, got \(String(describing: error))")
            return
        }
    }

    @Test func hangingGpgvIsStoppedByTheTimeout() async throws {
        let key = try TestKeyring()
        let script = key.home.appendingPathComponent("slow-gpgv")
        try Data("#!/bin/sh\nexec sleep 30\n".utf8).write(to: script)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        let signed = try key.clearsign(release)
        let started = ContinuousClock.now
        let error = await signatureError {
            try await Gpgv(executable: script.path, timeout: .milliseconds(300)).verifyInline(
                signed, keyring: key.keyringPath)
        }
        // Well under the script's 30 s (the timeout stopped it), with room for a loaded machine (11.5 s seen with
        // 240 tests at once).
        #expect(ContinuousClock.now - started < .seconds(20))
        guard case .failed(let reason) = error, reason.contains("longer than") else {
            Issue.record("expected a timeout, got \(String(describing: error))")
            return
        }
    }

    @Test func expiredKeyIsRefused() async throws {
        let key = try TestKeyring.expired()
        let signed = try key.clearsign(release)
        let error = await signatureError { try await Gpgv().verifyInline(signed, keyring: key.keyringPath) }
        #expect(error == .expiredKey(key.keyID))
    }

    @Test func revokedKeyIsRefused() async throws {
        let key = try TestKeyring()
        let signed = try key.clearsign(release)
        let revoked = try key.revokedKeyringPath()
        let error = await signatureError { try await Gpgv().verifyInline(signed, keyring: revoked) }
        #expect(error == .revokedKey(key.keyID))
    }

    @Test func statusRules() {
        let fpr = "F6B3EDCF47EC1D124E6924A43D00CED29F67B7F4"
        let good =
            "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG 3D00CED29F67B7F4 A\n[GNUPG:] VALIDSIG \(fpr) 2026-12-03 1796331679 0 4 0 22 8 01 \(fpr)\n"
        let missing =
            "[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG 1111111111111111 22 8 01 1796331679 9 -\n[GNUPG:] NO_PUBKEY 1111111111111111\n"
        // A second signature by a key not in the keyring beside a good one: accepted, as apt does.
        #expect((try? GpgvStatus(statusText: good + missing).verdict().get())?.fingerprint == fpr)
        #expect((try? GpgvStatus(statusText: missing + good).verdict().get())?.keyID == "3D00CED29F67B7F4")
        // GOODSIG without VALIDSIG is not enough.
        let goodOnly = "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG 3D00CED29F67B7F4 A\n"
        #expect(throws: SignatureError.self) { try GpgvStatus(statusText: goodOnly).verdict().get() }
        // A bad signature beside a good one fails.
        let bad = "[GNUPG:] NEWSIG\n[GNUPG:] BADSIG 2222222222222222 B\n"
        #expect(throws: SignatureError.badSignature("BADSIG 2222222222222222")) {
            try GpgvStatus(statusText: good + bad).verdict().get()
        }
        // SHA-1 (hash algorithm 2) does not count.
        let weak =
            "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG 3D00CED29F67B7F4 A\n[GNUPG:] VALIDSIG \(fpr) 2026-12-03 1796331679 0 4 0 22 2 01 \(fpr)\n"
        #expect(throws: SignatureError.self) { try GpgvStatus(statusText: weak).verdict().get() }
        // Other ERRSIGs (unknown algorithm) fail.
        let unknownAlgorithm = "[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG 1111111111111111 99 8 01 1796331679 4 -\n"
        #expect(throws: SignatureError.self) { try GpgvStatus(statusText: good + unknownAlgorithm).verdict().get() }
        #expect(throws: SignatureError.notSigned) { try GpgvStatus(statusText: "[GNUPG:] NODATA 1\n").verdict().get() }
        // Text outside status lines is ignored.
        #expect(throws: SignatureError.notSigned) {
            try GpgvStatus(statusText: "GOODSIG 3D00CED29F67B7F4\nVALIDSIG \(fpr)\n").verdict().get()
        }
    }

    @Test func dearmorReadsConcatenatedBlocks() {
        let block =
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\nComment: x\n\nAQID\nBA==\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n"
        #expect(Gpgv.dearmor(Array((block + block).utf8)) == [1, 2, 3, 4, 1, 2, 3, 4])
        #expect(Gpgv.dearmor(Array("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!\n".utf8)) == nil)
    }

    private func signatureError(_ body: () async throws -> SignatureCheck) async -> SignatureError? {
        do {
            _ = try await body()
            return nil
        } catch let error as SignatureError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }
}

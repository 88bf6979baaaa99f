package webhook

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"slices"
	"strings"
)

// WeComKey decodes a 43-character EncodingAESKey (base64 without its "=").
func WeComKey(encodingAESKey string) ([]byte, error) {
	if len(encodingAESKey) != 43 {
		return nil, errors.New("an EncodingAESKey has 43 characters")
	}
	k, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(k) != 32 {
		return nil, errors.New("an EncodingAESKey is 43 characters of base64")
	}
	return k, nil
}

// weComSignature is the hex SHA-1 of the sorted, concatenated parts.
func weComSignature(parts ...string) []byte {
	parts = slices.Clone(parts)
	slices.Sort(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return sum[:]
}

type weComEnvelope struct {
	Encrypt string `xml:"Encrypt"`
}

// WeCom (企业微信): msg_signature is the SHA-1 of the sorted token,
// timestamp, nonce and ciphertext; the message is AES-256-CBC (IV the
// key's first 16 bytes, PKCS#7 to 32 bytes) of 16 random bytes, a 4-byte
// big-endian length, the message and the receiving corp id. GET is the
// URL check: its echostr is decrypted and answered.
func verifyWeCom(r Request, s Secrets) (Verified, error) {
	sig, ts, nonce := r.Query["msg_signature"], r.Query["timestamp"], r.Query["nonce"]
	if sig == "" || ts == "" || nonce == "" {
		return Verified{}, ErrMissing
	}
	var ciphertext string
	if r.Method == "GET" {
		ciphertext = r.Query["echostr"]
	} else {
		var env weComEnvelope
		if err := xml.Unmarshal(r.Body, &env); err != nil {
			return Verified{}, ErrMalformed
		}
		ciphertext = env.Encrypt
	}
	if ciphertext == "" {
		return Verified{}, ErrMissing
	}
	want, err := hex.DecodeString(sig)
	if err != nil || len(want) != sha1.Size {
		return Verified{}, ErrSignature
	}
	ok := false
	for _, token := range s.Keys {
		if subtle.ConstantTimeCompare(want, weComSignature(string(token), ts, nonce, ciphertext)) == 1 {
			ok = true
		}
	}
	if !ok {
		return Verified{}, ErrSignature
	}
	if err := freshUnix(ts, r.Now); err != nil {
		return Verified{}, err
	}
	msg, err := weComDecrypt(s.AESKey, s.CorpID, ciphertext)
	if err != nil {
		return Verified{}, err
	}
	if r.Method == "GET" {
		// An echostr is a short random string. A message (XML) replayed as
		// one would be answered in plain text: refused.
		if len(msg) > maxEcho || bytes.ContainsRune(msg, '<') {
			return Verified{}, ErrMalformed
		}
		return Verified{Challenge: string(msg)}, nil
	}
	return Verified{Payload: msg}, nil
}

// maxEcho bounds a URL check's decrypted echostr.
const maxEcho = 128

func weComDecrypt(key []byte, corpID, ciphertext string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(ciphertext)
	if err != nil || len(key) != 32 || len(raw) == 0 || len(raw)%aes.BlockSize != 0 {
		return nil, ErrMalformed
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, ErrMalformed
	}
	plain := make([]byte, len(raw))
	cipher.NewCBCDecrypter(block, key[:aes.BlockSize]).CryptBlocks(plain, raw)
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > 32 || pad > len(plain) || !bytes.Equal(plain[len(plain)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, ErrMalformed
	}
	plain = plain[:len(plain)-pad]
	if len(plain) < 20 {
		return nil, ErrMalformed
	}
	n := int(binary.BigEndian.Uint32(plain[16:20]))
	if n > len(plain)-20 {
		return nil, ErrMalformed
	}
	msg, receiver := plain[20:20+n], plain[20+n:]
	if subtle.ConstantTimeCompare(receiver, []byte(corpID)) != 1 {
		return nil, ErrSignature // authentic for another corp: not ours
	}
	return msg, nil
}

// WeComEncrypt builds a callback ciphertext: for tests, the local replay
// tool and answering WeCom with an encrypted reply.
func WeComEncrypt(key []byte, corpID string, random [16]byte, msg []byte) (string, error) {
	if len(key) != 32 {
		return "", errors.New("WeCom key must be 32 bytes")
	}
	var b bytes.Buffer
	b.Write(random[:])
	_ = binary.Write(&b, binary.BigEndian, uint32(len(msg)))
	b.Write(msg)
	b.WriteString(corpID)
	pad := 32 - b.Len()%32
	b.Write(bytes.Repeat([]byte{byte(pad)}, pad))
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	out := make([]byte, b.Len())
	cipher.NewCBCEncrypter(block, key[:aes.BlockSize]).CryptBlocks(out, b.Bytes())
	return base64.StdEncoding.EncodeToString(out), nil
}

// WeComSign returns the msg_signature of a callback.
func WeComSign(token, timestamp, nonce, ciphertext string) string {
	return hex.EncodeToString(weComSignature(token, timestamp, nonce, ciphertext))
}

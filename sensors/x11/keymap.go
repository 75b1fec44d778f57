package x11

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// Keysym is an X keysym: the symbol a key produces at some level.
type Keysym uint32

// Keysyms the keyboard decoder treats specially.
const (
	symNone        Keysym = 0
	symBackSpace   Keysym = 0xff08
	symTab         Keysym = 0xff09
	symReturn      Keysym = 0xff0d
	symPause       Keysym = 0xff13
	symEscape      Keysym = 0xff1b
	symHome        Keysym = 0xff50
	symLeft        Keysym = 0xff51
	symUp          Keysym = 0xff52
	symRight       Keysym = 0xff53
	symDown        Keysym = 0xff54
	symPrior       Keysym = 0xff55
	symNext        Keysym = 0xff56
	symEnd         Keysym = 0xff57
	symPrint       Keysym = 0xff61
	symInsert      Keysym = 0xff63
	symMenu        Keysym = 0xff67
	symModeSwitch  Keysym = 0xff7e
	symNumLock     Keysym = 0xff7f
	symKPSpace     Keysym = 0xff80
	symKPTab       Keysym = 0xff89
	symKPEnter     Keysym = 0xff8d
	symKPHome      Keysym = 0xff95
	symKPInsert    Keysym = 0xff9e
	symKPDelete    Keysym = 0xff9f
	symKPEqual     Keysym = 0xffbd
	symF1          Keysym = 0xffbe
	symF35         Keysym = 0xffe0
	symShiftL      Keysym = 0xffe1
	symShiftR      Keysym = 0xffe2
	symControlL    Keysym = 0xffe3
	symControlR    Keysym = 0xffe4
	symCapsLock    Keysym = 0xffe5
	symShiftLock   Keysym = 0xffe6
	symMetaL       Keysym = 0xffe7
	symMetaR       Keysym = 0xffe8
	symAltL        Keysym = 0xffe9
	symAltR        Keysym = 0xffea
	symSuperL      Keysym = 0xffeb
	symSuperR      Keysym = 0xffec
	symHyperL      Keysym = 0xffed
	symHyperR      Keysym = 0xffee
	symDelete      Keysym = 0xffff
	symLevel3Shift Keysym = 0xfe03
	symLevel5Shift Keysym = 0xfe11
	symLeftTab     Keysym = 0xfe20
	symEuro        Keysym = 0x20ac
)

// Keymap is the server's core keyboard mapping: the keysyms of each
// keycode, PerKeycode of them per key, from keycode Min on.
type Keymap struct {
	Min        byte
	PerKeycode int
	Syms       []Keysym
}

// Lookup returns the keysyms of keycode, or nil when it has none.
func (m *Keymap) Lookup(code byte) []Keysym {
	if m == nil || m.PerKeycode <= 0 || code < m.Min {
		return nil
	}
	i := int(code-m.Min) * m.PerKeycode
	if i+m.PerKeycode > len(m.Syms) {
		return nil
	}
	return m.Syms[i : i+m.PerKeycode]
}

// Apply changes the map as a recorded ChangeKeyboardMapping request did,
// growing it when the request covers keycodes past its end.
func (m *Keymap) Apply(in Input) {
	if in.Kind != InputMappingChange || in.PerKeycode <= 0 || in.Count <= 0 {
		return
	}
	if m.PerKeycode == 0 {
		m.PerKeycode, m.Min = in.PerKeycode, in.First
	}
	for i := 0; i < in.Count; i++ {
		code := int(in.First) + i
		if code < int(m.Min) || code > 255 {
			continue
		}
		at := (code - int(m.Min)) * m.PerKeycode
		if need := at + m.PerKeycode; need > len(m.Syms) {
			m.Syms = append(m.Syms, make([]Keysym, need-len(m.Syms))...)
		}
		for j := 0; j < m.PerKeycode; j++ {
			var s Keysym
			if j < in.PerKeycode {
				s = in.Keysyms[i*in.PerKeycode+j]
			}
			m.Syms[at+j] = s
		}
	}
}

// Mods is a set of held modifiers.
type Mods uint8

// Modifiers tracked by the decoder.
const (
	ModShift Mods = 1 << iota
	ModCtrl
	ModAlt
	ModSuper
)

// Key is one decoded key press.
type Key struct {
	// Sym is the keysym the press produced, given the modifiers.
	Sym Keysym
	// Rune is the printable character, 0 when the key prints nothing.
	Rune rune
	// Name names a non-printing key such as "Enter"; empty otherwise.
	Name string
	// Mods are the modifiers held.
	Mods Mods
	// Modifier is true when the key itself is a modifier (Shift, Ctrl...).
	Modifier bool
	// Combo is a clipboard key combination such as "ctrl+c", with Op its
	// operation ("copy", "cut" or "paste"); both empty for other keys.
	Combo, Op string
}

// AppendText appends the key as it goes into a keystroke log: the character
// typed, or a label such as <Enter> or <ctrl+c>. Modifier keys append
// nothing.
func (k *Key) AppendText(dst []byte) []byte {
	if k.Modifier {
		return dst
	}
	cmd := k.Mods&(ModCtrl|ModAlt|ModSuper) != 0
	if k.Rune != 0 && !cmd {
		return utf8.AppendRune(dst, k.Rune)
	}
	dst = append(dst, '<')
	if k.Mods&ModCtrl != 0 {
		dst = append(dst, "ctrl+"...)
	}
	if k.Mods&ModAlt != 0 {
		dst = append(dst, "alt+"...)
	}
	if k.Mods&ModSuper != 0 {
		dst = append(dst, "super+"...)
	}
	if k.Mods&ModShift != 0 && (cmd || k.Rune == 0) {
		dst = append(dst, "shift+"...)
	}
	switch {
	case k.Name != "":
		dst = append(dst, k.Name...)
	case k.Rune != 0:
		dst = utf8.AppendRune(dst, unicode.ToLower(k.Rune))
	default:
		dst = append(dst, "0x"...)
		dst = strconv.AppendUint(dst, uint64(k.Sym), 16)
	}
	return append(dst, '>')
}

// KeyState turns recorded key events into keys: it tracks the modifiers and
// the lock keys and applies the keymap the way the core protocol does.
type KeyState struct {
	Map              Keymap
	down             [256]bool
	shift, ctrl, alt int
	super, level3    int
	modeSwitch       int
	// Caps and Num are the Caps Lock and Num Lock states.
	Caps, Num bool
}

// Release handles a key going up.
func (s *KeyState) Release(code byte) {
	if !s.down[code] {
		return
	}
	s.down[code] = false
	s.count(code, -1)
}

// Press handles a key going down and returns what it produced.
func (s *KeyState) Press(code byte) Key {
	syms := s.Map.Lookup(code)
	var base Keysym
	if len(syms) > 0 {
		base = syms[0]
	}
	if isModifierSym(base) {
		if !s.down[code] { // auto-repeat repeats presses of held keys
			s.down[code] = true
			s.count(code, +1)
			switch base {
			case symCapsLock:
				s.Caps = !s.Caps
			case symNumLock:
				s.Num = !s.Num
			}
		}
		return Key{Sym: base, Modifier: true, Mods: s.mods()}
	}
	s.down[code] = true
	k := Key{Mods: s.mods()}
	k.Sym = s.resolve(syms)
	k.Rune = keysymRune(k.Sym)
	if k.Rune == 0 || k.Rune < ' ' {
		k.Rune = 0
		k.Name = keysymName(k.Sym)
	}
	k.Combo, k.Op = clipboardCombo(k.Mods, lowerSym(base), base)
	return k
}

func (s *KeyState) count(code byte, d int) {
	syms := s.Map.Lookup(code)
	if len(syms) == 0 {
		return
	}
	switch syms[0] {
	case symShiftL, symShiftR:
		s.shift += d
	case symControlL, symControlR:
		s.ctrl += d
	case symAltL, symAltR, symMetaL, symMetaR:
		s.alt += d
	case symSuperL, symSuperR, symHyperL, symHyperR:
		s.super += d
	case symLevel3Shift:
		s.level3 += d
	case symModeSwitch:
		s.modeSwitch += d
	}
}

func (s *KeyState) mods() Mods {
	var m Mods
	if s.shift > 0 {
		m |= ModShift
	}
	if s.ctrl > 0 {
		m |= ModCtrl
	}
	if s.alt > 0 {
		m |= ModAlt
	}
	if s.super > 0 {
		m |= ModSuper
	}
	return m
}

// resolve picks the keysym of a key given the group, level and lock state,
// following the core protocol's rules for the first two columns of a group.
func (s *KeyState) resolve(syms []Keysym) Keysym {
	at := func(i int) Keysym {
		if i < len(syms) {
			return syms[i]
		}
		return symNone
	}
	g := 0
	switch {
	case s.level3 > 0 && at(4) != symNone:
		g = 4
	case s.modeSwitch > 0 && at(2) != symNone:
		g = 2
	}
	lo, hi := at(g), at(g+1)
	if hi == symNone {
		if l, u := lowerSym(lo), upperSym(lo); l != u {
			lo, hi = l, u
		} else {
			hi = lo
		}
	}
	shift := s.shift > 0
	if s.Num && isKeypadSym(hi) {
		if shift {
			return lo
		}
		return hi
	}
	if s.Caps && lowerSym(lo) != upperSym(lo) {
		shift = !shift
		if shift {
			return upperSym(lo)
		}
		return lowerSym(lo)
	}
	if shift {
		return hi
	}
	return lo
}

// clipboardCombo recognises the clipboard key combinations from the
// modifiers held and the key's first keysym.
func clipboardCombo(m Mods, lower, base Keysym) (combo, op string) {
	if m&(ModAlt|ModSuper) != 0 {
		return "", ""
	}
	ctrl, shift := m&ModCtrl != 0, m&ModShift != 0
	isInsert := base == symInsert || base == symKPInsert
	isDelete := base == symDelete || base == symKPDelete
	switch {
	case ctrl && !shift:
		switch {
		case lower == 'c':
			return "ctrl+c", "copy"
		case lower == 'x':
			return "ctrl+x", "cut"
		case lower == 'v':
			return "ctrl+v", "paste"
		case isInsert:
			return "ctrl+insert", "copy"
		}
	case ctrl && shift:
		switch lower {
		case 'c':
			return "ctrl+shift+c", "copy"
		case 'v':
			return "ctrl+shift+v", "paste"
		}
	case shift:
		switch {
		case isInsert:
			return "shift+insert", "paste"
		case isDelete:
			return "shift+delete", "cut"
		}
	}
	return "", ""
}

func isModifierSym(s Keysym) bool {
	return (s >= symShiftL && s <= symHyperR) || s == symModeSwitch || s == symNumLock ||
		(s >= 0xfe01 && s <= 0xfe0f) || s == symLevel5Shift
}

func isKeypadSym(s Keysym) bool { return s >= symKPSpace && s <= symKPEqual }

// lowerSym and upperSym change the case of Latin-1 and Unicode keysyms.
func lowerSym(s Keysym) Keysym {
	switch {
	case s >= 'A' && s <= 'Z', s >= 0xc0 && s <= 0xde && s != 0xd7:
		return s + 0x20
	case s >= 0x1000100 && s <= 0x110ffff:
		return 0x1000000 | Keysym(unicode.ToLower(rune(s&0xffffff)))
	}
	return s
}

func upperSym(s Keysym) Keysym {
	switch {
	case s >= 'a' && s <= 'z', s >= 0xe0 && s <= 0xfe && s != 0xf7:
		return s - 0x20
	case s >= 0x1000100 && s <= 0x110ffff:
		return 0x1000000 | Keysym(unicode.ToUpper(rune(s&0xffffff)))
	}
	return s
}

// keysymRune returns the character a keysym types, or 0. It knows Latin-1,
// the Unicode keysyms (0x01000000 + code point, which layouts use for most
// other scripts), the euro sign and the keypad.
func keysymRune(s Keysym) rune {
	switch {
	case s >= 0x20 && s <= 0x7e, s >= 0xa0 && s <= 0xff:
		return rune(s)
	case s >= 0x1000100 && s <= 0x110ffff:
		r := rune(s & 0xffffff)
		if utf8.ValidRune(r) {
			return r
		}
		return 0
	case s == symEuro:
		return '€'
	case s >= 0xffb0 && s <= 0xffb9:
		return '0' + rune(s-0xffb0)
	}
	switch s {
	case symKPSpace:
		return ' '
	case 0xffaa:
		return '*'
	case 0xffab:
		return '+'
	case 0xffac:
		return ','
	case 0xffad:
		return '-'
	case 0xffae:
		return '.'
	case 0xffaf:
		return '/'
	case symKPEqual:
		return '='
	}
	return 0
}

var functionKeyNames = func() []string {
	out := make([]string, 35)
	for i := range out {
		out[i] = "F" + strconv.Itoa(i+1)
	}
	return out
}()

// keysymName names the non-printing keys that matter in a keystroke log.
func keysymName(s Keysym) string {
	switch s {
	case symReturn, symKPEnter:
		return "Enter"
	case symBackSpace:
		return "BackSpace"
	case symTab, symKPTab, symLeftTab:
		return "Tab"
	case symEscape:
		return "Escape"
	case symDelete, symKPDelete:
		return "Delete"
	case symInsert, symKPInsert:
		return "Insert"
	case symHome, symKPHome:
		return "Home"
	case symLeft, symKPHome + 1:
		return "Left"
	case symUp, symKPHome + 2:
		return "Up"
	case symRight, symKPHome + 3:
		return "Right"
	case symDown, symKPHome + 4:
		return "Down"
	case symPrior, symKPHome + 5:
		return "PageUp"
	case symNext, symKPHome + 6:
		return "PageDown"
	case symEnd, symKPHome + 7:
		return "End"
	case symPrint:
		return "Print"
	case symPause:
		return "Pause"
	case symMenu:
		return "Menu"
	case symNone:
		return "NoSymbol"
	}
	if s >= symF1 && s <= symF35 {
		return functionKeyNames[s-symF1]
	}
	return ""
}

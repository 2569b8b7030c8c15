// The mails of caller verification (issue 23): the one-time code the caller
// reads back to the helpdesk, and the note to global admins when an admin
// reset without it (one note for a whole bulk reset).
#include "texts.h"

namespace resetd::notify {
namespace {
// clang-format off
constexpr KindTexts kTexts[] = {
  {"caller_code",
   {"Your verification code for the IT helpdesk",
    "Hello {display_name},\n"
    "\n"
    "{actor} at the IT helpdesk asked to confirm that you are on the phone with them.\n"
    "Read this code to them: {code}\n"
    "\n"
    "It expires at {expires_at}. The helpdesk never asks for your password.\n"
    "If you are not talking to the helpdesk right now, do not share this code\n"
    "and contact IT.\n"},
   {"IT 服務台的驗證碼",
    "{display_name} 您好：\n"
    "\n"
    "IT 服務台的 {actor} 要求確認正在通話的人是您本人。\n"
    "請將此驗證碼唸給對方：{code}\n"
    "\n"
    "此驗證碼將於 {expires_at} 到期。服務台絕不會詢問您的密碼。\n"
    "如果您目前沒有與服務台通話，請勿分享此驗證碼，並聯絡 IT 人員。\n"},
   {"BT yardım masası için doğrulama kodunuz",
    "Merhaba {display_name},\n"
    "\n"
    "BT yardım masasından {actor}, telefonda sizinle konuştuğunu doğrulamak istiyor.\n"
    "Bu kodu ona okuyun: {code}\n"
    "\n"
    "Kodun süresi {expires_at} tarihinde dolar. Yardım masası parolanızı asla sormaz.\n"
    "Şu anda yardım masasıyla konuşmuyorsanız bu kodu paylaşmayın ve BT ekibiyle\n"
    "iletişime geçin.\n"}},
  {"caller_override",
   {"A password was reset without verifying the caller",
    "Hello {display_name},\n"
    "\n"
    "{actor} reset the password of {username} at {when} without verifying the caller,\n"
    "although their role requires it.\n"
    "\n"
    "Reason given: {reason}\n"},
   {"有密碼在未驗證來電者的情況下被重設",
    "{display_name} 您好：\n"
    "\n"
    "{actor} 於 {when} 重設了 {username} 的密碼，但未驗證來電者身分，\n"
    "雖然其角色要求必須驗證。\n"
    "\n"
    "提供的理由：{reason}\n"},
   {"Arayan doğrulanmadan bir parola sıfırlandı",
    "Merhaba {display_name},\n"
    "\n"
    "{actor}, rolü gerektirdiği hâlde arayanı doğrulamadan {when} tarihinde\n"
    "{username} kullanıcısının parolasını sıfırladı.\n"
    "\n"
    "Belirtilen gerekçe: {reason}\n"}},
  {"caller_override_bulk",
   {"Passwords were reset in bulk without verifying the callers",
    "Hello {display_name},\n"
    "\n"
    "{actor} reset the passwords of {count} users in one bulk reset at {when} without\n"
    "verifying the callers, although their role requires it.\n"
    "\n"
    "Users: {usernames}\n"
    "\n"
    "Reason given: {reason}\n"
    "\n"
    "The audit log has a caller_verification_override entry for each user.\n"},
   {"有多個密碼在未驗證來電者的情況下被批次重設",
    "{display_name} 您好：\n"
    "\n"
    "{actor} 於 {when} 以一次批次重設重設了 {count} 位使用者的密碼，但未驗證來電者身分，\n"
    "雖然其角色要求必須驗證。\n"
    "\n"
    "使用者：{usernames}\n"
    "\n"
    "提供的理由：{reason}\n"
    "\n"
    "稽核記錄中每位使用者都有一筆 caller_verification_override 記錄。\n"},
   {"Arayanlar doğrulanmadan parolalar toplu olarak sıfırlandı",
    "Merhaba {display_name},\n"
    "\n"
    "{actor}, rolü gerektirdiği hâlde arayanları doğrulamadan {when} tarihinde tek bir\n"
    "toplu sıfırlamayla {count} kullanıcının parolasını sıfırladı.\n"
    "\n"
    "Kullanıcılar: {usernames}\n"
    "\n"
    "Belirtilen gerekçe: {reason}\n"
    "\n"
    "Denetim kaydında her kullanıcı için bir caller_verification_override girişi vardır.\n"}},
};
// clang-format on
}  // namespace

std::span<const KindTexts> caller_texts() { return kTexts; }

}  // namespace resetd::notify
